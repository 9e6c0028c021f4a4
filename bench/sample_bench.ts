// Sampling speed on wasm. One reverse step = one UNet forward + one scheduler step.
// - tiny, batch 16: one DDPM step and one DDIM step; images/s for a full run is
//   16 / (steps x time): DDPM uses 1000 steps, DDIM 50.
// - tiny, batch 16: a whole 50-step DDIM sample() call, end to end.
// - cifar10: seconds per DDIM step at batch 1 and batch 16.
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDIMScheduler,
  DDPMScheduler,
  type PresetName,
  presets,
  sample,
  setBackend,
} from "../mod.ts";

await setBackend("wasm");

function reverseStep(name: PresetName, batch: number, sampler: "ddpm" | "ddim"): () => void {
  const unet = createUNet(name, { seed: 0 });
  const scheduler = sampler === "ddpm"
    ? new DDPMScheduler(presets[name].scheduler)
    : new DDIMScheduler(presets[name].scheduler);
  scheduler.setTimesteps(sampler === "ddpm" ? 1000 : 50);
  const res = presets[name].unet.resolution;
  const x = tf.randomNormal([batch, res, res, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const t = scheduler.timesteps[10];
  return () =>
    tf.tidy(() => {
      const eps = unet.predict(x, tf.fill([batch], t, "int32") as tf.Tensor1D);
      scheduler.step(eps, t, x, { seed: 1 }).prevSample.dataSync();
    });
}

Deno.bench({
  group: "tiny, batch 16",
  name: "one DDPM step (x1000 for a sample)",
  baseline: true,
  n: 10,
  warmup: 2,
  fn: reverseStep("tiny", 16, "ddpm"),
});
Deno.bench({
  group: "tiny, batch 16",
  name: "one DDIM step (x50 for a sample)",
  n: 10,
  warmup: 2,
  fn: reverseStep("tiny", 16, "ddim"),
});

const tinyUnet = createUNet("tiny", { seed: 0 });
Deno.bench({
  group: "tiny, batch 16",
  name: "sample(): 16 images, DDIM 50 steps",
  n: 2,
  warmup: 0,
  async fn() {
    const images = await sample({
      unet: tinyUnet,
      scheduler: new DDIMScheduler(presets.tiny.scheduler),
      batchSize: 16,
      numInferenceSteps: 50,
    });
    images.dispose();
  },
});

Deno.bench({
  group: "cifar10, DDIM step",
  name: "batch 1",
  baseline: true,
  n: 3,
  warmup: 1,
  fn: reverseStep("cifar10", 1, "ddim"),
});
Deno.bench({
  group: "cifar10, DDIM step",
  name: "batch 16",
  n: 2,
  warmup: 1,
  fn: reverseStep("cifar10", 16, "ddim"),
});
