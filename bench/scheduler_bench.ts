// One scheduler step for a batch of 16 CIFAR-sized images (32x32x3) on wasm: DDPM (ancestral,
// seeded noise), DDIM with eta = 0 and eta = 1, and addNoise for a training batch.
// The model call is not included; this is the scheduler's own cost per sampling step.
import * as tf from "@tensorflow/tfjs";
import { DDIMScheduler, DDPMScheduler, setBackend } from "../mod.ts";

await setBackend("wasm");

const SHAPE: [number, number, number, number] = [16, 32, 32, 3];
const sample = tf.randomNormal(SHAPE, 0, 1, "float32", 1) as tf.Tensor4D;
const eps = tf.randomNormal(SHAPE, 0, 1, "float32", 2) as tf.Tensor4D;
const t = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i * 60), "int32");

const ddpm = new DDPMScheduler();
const ddpmLarge = new DDPMScheduler({ varianceType: "fixed_large", thresholding: true });
const ddim = new DDIMScheduler();
ddim.setTimesteps(50);

const group = "scheduler step, batch 16 x 32x32x3, wasm";
const run = (f: () => { prevSample: tf.Tensor; predOriginalSample: tf.Tensor }) => () => {
  const r = f();
  r.prevSample.dataSync();
  tf.dispose([r.prevSample, r.predOriginalSample]);
};

Deno.bench({
  group,
  name: "DDPMScheduler.step (fixed_small, seeded noise)",
  baseline: true,
  fn: run(() => ddpm.step(eps, 500, sample, { seed: 3 })),
});
Deno.bench({
  group,
  name: "DDPMScheduler.step (fixed_large, dynamic thresholding)",
  fn: run(() => ddpmLarge.step(eps, 500, sample, { seed: 3 })),
});
Deno.bench({
  group,
  name: "DDIMScheduler.step (eta = 0)",
  fn: run(() => ddim.step(eps, 500, sample)),
});
Deno.bench({
  group,
  name: "DDIMScheduler.step (eta = 1, seeded noise)",
  fn: run(() => ddim.step(eps, 500, sample, { eta: 1, seed: 3 })),
});
Deno.bench({
  group,
  name: "DDPMScheduler.addNoise (16 timesteps)",
  fn: () => {
    const x = ddpm.addNoise(sample, eps, t);
    x.dataSync();
    x.dispose();
  },
});
