// The forward pass of the FID Inception-v3 in TF.js (NHWC), block by block as pytorch-fid
// runs it. Every unit is one fused convolution + bias + ReLU (its BatchNorm folded in).
import * as tf from "@tensorflow/tfjs";
import { INCEPTION_CONVS, type InceptionConv } from "./inception_layers.ts";
import type { InceptionWeights } from "./inception_weights.ts";

const SPECS = new Map<string, InceptionConv>(INCEPTION_CONVS.map((c) => [c.name, c]));

type Unit = (x: tf.Tensor4D, name: string) => tf.Tensor4D;

function units(w: InceptionWeights): { unit: Unit; poolUnit: Unit; maxPoolUnit: Unit } {
  const get = (name: string) => {
    const weights = w.convs.get(name);
    const spec = SPECS.get(name);
    if (!weights || !spec) throw new Error(`internal: no Inception unit ${name}`);
    return { weights, spec };
  };
  const unit: Unit = (x, name) => {
    const { weights, spec } = get(name);
    return tf.fused.conv2d({
      x,
      filter: weights.filter,
      bias: weights.bias,
      strides: spec.stride,
      pad: spec.padding,
      activation: "relu",
    });
  };
  // 3x3 average pool (stride 1, padding 1, count_include_pad=False) then a 1x1 unit. Both are
  // linear before the ReLU and the pool averages only positions inside the image, so they
  // commute: pooling after the 1x1 convolution gives the same values on 4-9x fewer channels.
  const poolUnit: Unit = (x, name) => {
    const { weights, spec } = get(name);
    const z = tf.conv2d(x, weights.filter, spec.stride, spec.padding);
    const pooled = tf.avgPool(z, 3, 1, "same");
    return tf.relu(tf.add(pooled, weights.bias));
  };
  // Mixed_7c's pool branch: a 3x3 max pool (stride 1, padding 1) then a 1x1 unit.
  const maxPoolUnit: Unit = (x, name) => unit(tf.maxPool(x, 3, 1, "same"), name);
  return { unit, poolUnit, maxPoolUnit };
}

const cat = (parts: tf.Tensor4D[]) => tf.concat(parts, 3) as tf.Tensor4D;
const maxPool2 = (x: tf.Tensor4D) => tf.maxPool(x, 3, 2, "valid");

/**
 * pool3 features [N, 2048] of images already resized and scaled to [-1, 1], NHWC, in a
 * `tf.tidy` of the caller's.
 */
export function _inceptionPool3(x: tf.Tensor4D, w: InceptionWeights): tf.Tensor2D {
  const { unit, poolUnit, maxPoolUnit } = units(w);
  // Stem: 299 -> 149 -> 147 -> 147 -> 73 -> 73 -> 71 -> 35.
  x = unit(x, "Conv2d_1a_3x3");
  x = unit(x, "Conv2d_2a_3x3");
  x = unit(x, "Conv2d_2b_3x3");
  x = maxPool2(x);
  x = unit(x, "Conv2d_3b_1x1");
  x = unit(x, "Conv2d_4a_3x3");
  x = maxPool2(x);
  // FIDInceptionA x 3 at 35 x 35.
  for (const p of ["Mixed_5b", "Mixed_5c", "Mixed_5d"]) {
    x = cat([
      unit(x, `${p}.branch1x1`),
      unit(unit(x, `${p}.branch5x5_1`), `${p}.branch5x5_2`),
      unit(unit(unit(x, `${p}.branch3x3dbl_1`), `${p}.branch3x3dbl_2`), `${p}.branch3x3dbl_3`),
      poolUnit(x, `${p}.branch_pool`),
    ]);
  }
  // InceptionB: 35 -> 17.
  x = cat([
    unit(x, "Mixed_6a.branch3x3"),
    unit(
      unit(unit(x, "Mixed_6a.branch3x3dbl_1"), "Mixed_6a.branch3x3dbl_2"),
      "Mixed_6a.branch3x3dbl_3",
    ),
    maxPool2(x),
  ]);
  // FIDInceptionC x 4 at 17 x 17.
  for (const p of ["Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"]) {
    let a = unit(x, `${p}.branch7x7_1`);
    a = unit(unit(a, `${p}.branch7x7_2`), `${p}.branch7x7_3`);
    let b = unit(x, `${p}.branch7x7dbl_1`);
    for (const k of [2, 3, 4, 5]) b = unit(b, `${p}.branch7x7dbl_${k}`);
    x = cat([unit(x, `${p}.branch1x1`), a, b, poolUnit(x, `${p}.branch_pool`)]);
  }
  // InceptionD: 17 -> 8.
  let d = unit(x, "Mixed_7a.branch7x7x3_1");
  for (const k of [2, 3, 4]) d = unit(d, `Mixed_7a.branch7x7x3_${k}`);
  x = cat([unit(unit(x, "Mixed_7a.branch3x3_1"), "Mixed_7a.branch3x3_2"), d, maxPool2(x)]);
  // FIDInceptionE_1 (average pool) and FIDInceptionE_2 (max pool) at 8 x 8.
  for (const p of ["Mixed_7b", "Mixed_7c"]) {
    const a = unit(x, `${p}.branch3x3_1`);
    const b = unit(unit(x, `${p}.branch3x3dbl_1`), `${p}.branch3x3dbl_2`);
    x = cat([
      unit(x, `${p}.branch1x1`),
      unit(a, `${p}.branch3x3_2a`),
      unit(a, `${p}.branch3x3_2b`),
      unit(b, `${p}.branch3x3dbl_3a`),
      unit(b, `${p}.branch3x3dbl_3b`),
      p === "Mixed_7b" ? poolUnit(x, `${p}.branch_pool`) : maxPoolUnit(x, `${p}.branch_pool`),
    ]);
  }
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}
