// One optimiser step (globalNorm, adamUpdate, emaUpdate, as trainStep runs them) on the
// plain-JS cpu backend over the cifar10 UNet's weights (35.7M parameters, its own split into
// tensors): the fused kernels (src/backends/cpu/fused/optimizer_kernels.ts) against the composition of
// stock ops that backends without them run. Needs about 3 GB.
// Run: deno bench -A bench/optimizer_bench.ts
import * as tf from "@tensorflow/tfjs";
import { createAdamState, presets, setBackend } from "../mod.ts";
import { unetWeightSpecs } from "../src/nn/mod.ts";
import { adamUpdate, emaUpdate, globalNorm } from "../src/train/mod.ts";
import { registerOptimizerKernels } from "../src/backends/cpu/fused/optimizer_kernels.ts";
import { ADAM, EMA, SUM_SQUARES } from "../src/kernels/_optimizer.ts";

await setBackend("cpu");
registerOptimizerKernels("cpu");

const specs = unetWeightSpecs(presets.cifar10.unet);
const weights = new Map(specs.map((s) => [s.name, tf.variable(tf.randomNormal(s.shape, 0, 0.05))]));
const ema = new Map(specs.map((s) => [s.name, tf.variable(tf.randomNormal(s.shape, 0, 0.05))]));
const grads = Object.fromEntries(specs.map((s) => [s.name, tf.randomNormal(s.shape, 0, 1e-3)]));
const adam = createAdamState(weights);
const params = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);

let step = 0;
function optimizerStep(): void {
  const norm = globalNorm(grads);
  const n = norm.dataSync()[0];
  norm.dispose();
  adamUpdate(weights, grads, adam, {
    learningRate: 2e-4,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    step: ++step,
    gradScale: n > 1 ? 1 / n : 1,
  });
  emaUpdate(ema, weights, 0.9999);
}

// cpu kernels run synchronously, so the timed function covers the whole computation.
const group = `optimizer step, ${specs.length} tensors, ${(params / 1e6).toFixed(1)}M params, cpu`;
Deno.bench({
  group,
  name: "composed",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: () => {
    for (const name of [ADAM, EMA, SUM_SQUARES]) tf.unregisterKernel(name, "cpu");
    try {
      optimizerStep();
    } finally {
      registerOptimizerKernels("cpu");
    }
  },
});
Deno.bench({ group, name: "fused", n: 3, warmup: 1, fn: optimizerStep });
