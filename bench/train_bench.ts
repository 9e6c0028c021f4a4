// Training throughput on wasm: one full optimisation step (forward, backward, clipping, Adam,
// EMA) of the tiny preset at batch 16, and of cifar10 at batch 4. Images/s = batch / time.
import * as tf from "@tensorflow/tfjs";
import {
  createAdamState,
  createUNet,
  DDPMScheduler,
  type PresetName,
  presets,
  setBackend,
  type TrainState,
  trainStep,
} from "../mod.ts";

await setBackend("wasm");

function prepare(name: PresetName, batch: number): () => Promise<void> {
  const { unet: unetConfig, train } = presets[name];
  const unet = createUNet(name, { seed: 0 });
  const weights = unet.getWeights();
  const ema = new Map([...weights].map(([k, w]) => [k, tf.tidy(() => tf.variable(w.clone()))]));
  const state: TrainState = {
    unet,
    weights,
    adam: createAdamState(weights),
    ema,
    scheduler: new DDPMScheduler(presets[name].scheduler),
  };
  const res = unetConfig.resolution;
  const x0 = tf.randomUniform([batch, res, res, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const t = Int32Array.from({ length: batch }, (_, i) => (i * 997) % 1000);
  let step = 0;
  return async () => {
    step++;
    await trainStep(state, {
      x0,
      t,
      noiseSeed: step,
      dropoutSeed: step,
      learningRate: train.learningRate,
      step,
    }, train);
  };
}

const tinyStep = prepare("tiny", 16);
Deno.bench({
  group: "training step, wasm",
  name: "tiny, batch 16 (images/s = 16 / time)",
  baseline: true,
  n: 5,
  warmup: 1,
  fn: tinyStep,
});

const cifarStep = prepare("cifar10", 4);
Deno.bench({
  group: "training step, wasm",
  name: "cifar10, batch 4 (images/s = 4 / time)",
  n: 2,
  warmup: 1,
  fn: cifarStep,
});
