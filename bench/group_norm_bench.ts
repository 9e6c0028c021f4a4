// Group norm + swish on the plain-JS cpu backend at a cifar10 layer shape ([8, 32, 32, 128],
// 32 groups): the fused kernels (src/backends/cpu/fused/group_norm_kernels.ts) against the composition
// of stock ops that backends without them run. Run: deno bench -A bench/group_norm_bench.ts
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { groupNorm } from "../src/nn/mod.ts";
import { registerGroupNormKernels } from "../src/backends/cpu/fused/group_norm_kernels.ts";
import { _groupNormComposite } from "../src/nn/_group_norm_composite.ts";

await setBackend("cpu");
registerGroupNormKernels("cpu");

const SHAPE: [number, number, number, number] = [8, 32, 32, 128];
const GROUPS = 32, EPS = 1e-6;
const x = tf.randomNormal(SHAPE) as tf.Tensor4D;
const dy = tf.randomNormal(SHAPE) as tf.Tensor4D;
const gamma = tf.randomNormal([SHAPE[3]], 1, 0.1) as tf.Tensor1D;
const beta = tf.randomNormal([SHAPE[3]], 0, 0.1) as tf.Tensor1D;

type Norm = (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor4D;
const fused: Norm = (x, gamma, beta) =>
  groupNorm(x, { gamma, beta }, { groups: GROUPS, eps: EPS, swish: true });
// What swish(groupNorm(...)) ran before the kernels existed.
const composed: Norm = (x, gamma, beta) => {
  const y = _groupNormComposite(x, { gamma, beta }, GROUPS, EPS);
  return tf.mul(y, tf.sigmoid(y));
};

// cpu kernels run synchronously, so the timed function covers the whole computation.
const forward = (f: Norm) => () => tf.tidy(() => void f(x, gamma, beta));
const backward = (f: Norm) => () =>
  tf.tidy(() =>
    void tf.grads((a, g, b) => f(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D))(
      [x, gamma, beta],
      dy,
    )
  );

const group = `groupNorm+swish ${SHAPE.join("x")} cpu`;
Deno.bench({ group: `${group} forward`, name: "composed", baseline: true, fn: forward(composed) });
Deno.bench({ group: `${group} forward`, name: "fused", fn: forward(fused) });
Deno.bench({
  group: `${group} forward+backward`,
  name: "composed",
  baseline: true,
  fn: backward(composed),
});
Deno.bench({ group: `${group} forward+backward`, name: "fused", fn: backward(fused) });
