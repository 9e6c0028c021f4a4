// conv2d gradients on wasm at the tiny preset's layer shapes (batch 4): the filter gradient
// as shipped (a convolution with batch and channels swapped) against an im2col GEMM and the
// bare GEMM it would need, and the filter flip of the input gradient (Gather against an
// exchange-matrix product). Run: deno bench -A bench/conv_grad_bench.ts
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { conv2d } from "../src/nn/mod.ts";

await setBackend("wasm");

// [batch, size, inChannels, outChannels]
const SHAPES: [number, number, number, number][] = [[4, 32, 32, 32], [4, 16, 64, 64]];

/** The shipped filter-gradient form (src/nn/conv2d.ts, stride 1, pad 1), copied to isolate it. */
function swappedConvFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  return tf.transpose(tf.conv2d(xt, dyt, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]), [1, 2, 0, 3]);
}

/** Filter gradient through im2col: [9 * ci, positions] columns times dy as [positions, co]. */
function im2colFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const xt = tf.pad(tf.transpose(x, [3, 0, 1, 2]), [[0, 0], [0, 0], [1, 1], [1, 1]]);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) taps.push(tf.slice(xt, [0, 0, i, j], [-1, -1, h, w]));
  }
  const cols = tf.reshape(tf.concat(taps, 0), [9 * ci, n * h * w]) as tf.Tensor2D;
  return tf.matMul(cols, tf.reshape(dy, [n * h * w, co]) as tf.Tensor2D);
}

for (const [n, s, ci, co] of SHAPES) {
  const x = tf.randomNormal([n, s, s, ci]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, ci, co], 0, 0.1) as tf.Tensor4D;
  const dy = tf.randomNormal([n, s, s, co]) as tf.Tensor4D;
  const group = `${n}x${s}x${s}x${ci} -> ${co}`;
  const gradOf = (i: 0 | 1) =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, b as tf.Tensor4D))(
      [x, w],
      dy,
    )[i];
  Deno.bench({
    group: `${group} filter grad`,
    name: `swapped conv (shipped) ${group}`,
    baseline: true,
    fn: () => tf.tidy(() => void swappedConvFilterGrad(x, dy).dataSync()),
  });
  Deno.bench({
    group: `${group} filter grad`,
    name: `im2col + matMul ${group}`,
    fn: () => tf.tidy(() => void im2colFilterGrad(x, dy).dataSync()),
  });
  const cols = tf.randomNormal([9 * ci, n * s * s]) as tf.Tensor2D;
  const dy2 = tf.reshape(dy, [n * s * s, co]) as tf.Tensor2D;
  Deno.bench({
    group: `${group} filter grad`,
    name: `bare GEMM only ${group}`,
    fn: () => tf.tidy(() => void tf.matMul(cols, dy2).dataSync()),
  });
  Deno.bench({
    group: `${group} both grads`,
    name: `conv2d both grads ${group}`,
    fn: () => tf.tidy(() => void gradOf(0).dataSync()),
  });
  const taps = tf.reshape(w, [9, ci, co]);
  Deno.bench({
    group: `${group} flip`,
    name: `flip by Gather ${group}`,
    baseline: true,
    fn: () => tf.tidy(() => void tf.gather(taps, tf.range(8, -1, -1, "int32")).dataSync()),
  });
  Deno.bench({
    group: `${group} flip`,
    name: `flip by exchange matMul ${group}`,
    fn: () =>
      tf.tidy(() => {
        const j = tf.reverse(tf.eye(9), 0) as tf.Tensor2D;
        tf.matMul(j, tf.reshape(taps, [9, ci * co]) as tf.Tensor2D).dataSync();
      }),
  });
}
