// TF.js's generic cpu kernels against the fast ones (src/backends/cpu/fast_cpu_kernels.ts) at
// the shapes of a cifar10 UNet training step at batch 8.
// Run: deno bench -A bench/fast_cpu_kernels_bench.ts
import * as tf from "@tensorflow/tfjs";
import { registerFastCpuKernels } from "../src/backends/cpu/fast_cpu_kernels.ts";

await tf.setBackend("cpu");
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
const STOCK = new Map(
  ["SplitV", "Sum", "Add", "Multiply"].map((n) => [n, tf.getKernel(n, "cpu")!]),
);
registerFastCpuKernels("cpu");

/** `f` with TF.js's own kernel `name` swapped in for the call. */
function onStock(name: string, f: () => void): () => void {
  const stock = STOCK.get(name)!;
  return () => {
    const fast = tf.getKernel(name, "cpu")!;
    tf.unregisterKernel(name, "cpu");
    tf.registerKernel(stock);
    try {
      f();
    } finally {
      tf.unregisterKernel(name, "cpu");
      tf.registerKernel(fast);
    }
  };
}

const x256 = tf.randomNormal([8, 32, 32, 256]);
const x128 = tf.randomNormal([8, 32, 32, 128]);
const bias = tf.randomNormal([128]);
const perSample = tf.randomNormal([8, 1, 1, 128]);
const x8M = tf.randomNormal([8, 32, 32, 1024]);
const half = tf.scalar(0.5);

// cpu kernels run synchronously, so the timed function covers the whole computation.
const cases: [string, string, () => void][] = [
  [
    "SplitV",
    "split [8,32,32,256] in 2 on channels",
    () => tf.tidy(() => void tf.split(x256, 2, 3)),
  ],
  ["Sum", "sum [8,32,32,128] over [0,1,2]", () => tf.tidy(() => void tf.sum(x128, [0, 1, 2]))],
  // TF.js's cpu Add already has a fast path for [C]: no dim of it is 1. [N, 1, 1, C] has none.
  ["Add", "add [8,32,32,128] + [128]", () => tf.tidy(() => void tf.add(x128, bias))],
  ["Add", "add [8,32,32,128] + [8,1,1,128]", () => tf.tidy(() => void tf.add(x128, perSample))],
  ["Multiply", "mul [8,32,32,1024] * scalar", () => tf.tidy(() => void tf.mul(x8M, half))],
];
for (const [kernel, group, fn] of cases) {
  // The stock kernels take up to a second a call: a few timed runs are enough.
  Deno.bench({
    group,
    name: "stock cpu",
    baseline: true,
    n: 5,
    warmup: 1,
    fn: onStock(kernel, fn),
  });
  Deno.bench({ group, name: "fast", n: 20, warmup: 2, fn });
}
