// One preset's UNet with fresh Adam and EMA state, a fixed batch, and closures that run a
// forward pass or a full training step on it: what the training benches share. Both closures
// read their result back asynchronously, so they run on GPU backends too (WebGPU has no
// synchronous read under Deno).
import * as tf from "@tensorflow/tfjs";
import { inferenceChunkSize } from "../src/memory/memory_limit.ts";
import {
  createAdamState,
  createUNet,
  DDPMScheduler,
  type PresetName,
  presets,
  type TrainState,
  trainStep,
} from "../mod.ts";
import { resolveMicroBatchSize } from "../src/train/mod.ts";

/** The runnable passes of one preset at one batch size. */
export interface TrainStepFixture {
  /** The model and optimiser state. */
  state: TrainState;
  /** Images per forward and backward pass of `train`, as `train()` would choose them. */
  microBatchSize: number;
  /** Images per pass of `forward`, as `sample()` would choose them. */
  forwardChunk: number;
  /** Forward pass at a fixed timestep per image, read back to the host. */
  forward(): Promise<void>;
  /** One training step; `i` seeds the noise and dropout and is Adam's step number. */
  train(i: number): Promise<void>;
  /** Frees the model, the optimiser state and the batch. */
  dispose(): void;
}

/**
 * Builds the fixture on the backend in use. The training step is split into micro-batches
 * from the backend's memory limit, as `train()` splits it (`resolveMicroBatchSize`), and the
 * forward pass into chunks as `sample()` splits it, unless `opts` gives both sizes.
 *
 * @param name The preset.
 * @param batch Images per step.
 * @param opts Fixed pass sizes, which skip the measurement (two small passes per kind).
 * @returns The fixture.
 */
export async function trainStepFixture(
  name: PresetName,
  batch: number,
  opts: { microBatchSize?: number; forwardChunk?: number } = {},
): Promise<TrainStepFixture> {
  const { unet: cfg, train: recipe } = presets[name];
  const unet = createUNet(name, { seed: 0 });
  const weights = unet.getWeights();
  const state: TrainState = {
    unet,
    weights,
    adam: createAdamState(weights),
    ema: new Map([...weights].map(([k, w]) => [k, tf.tidy(() => tf.variable(w.clone()))])),
    scheduler: new DDPMScheduler(presets[name].scheduler),
  };
  const res = cfg.resolution;
  const x0 = tf.randomUniform([batch, res, res, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const t = Int32Array.from({ length: batch }, (_, i) => (i * 997) % 1000);
  const tForward = tf.tensor1d(t, "int32");
  const microBatchSize = opts.microBatchSize ??
    (await resolveMicroBatchSize(state, batch, undefined)).microBatchSize;
  const forwardChunk = opts.forwardChunk ??
    await inferenceChunkSize(unet, [res, res, cfg.inChannels], batch);
  return {
    state,
    microBatchSize,
    forwardChunk,
    forward: async () => {
      const outs: tf.Tensor[] = [];
      for (let start = 0; start < batch; start += forwardChunk) {
        const size = Math.min(forwardChunk, batch - start);
        outs.push(tf.tidy(() =>
          unet.predict(
            x0.slice([start, 0, 0, 0], [size, -1, -1, -1]),
            tForward.slice([start], [size]),
          )
        ));
      }
      // One read of a value from each pass: every pass has run.
      const last = tf.tidy(() => tf.concat(outs.map((y) => y.flatten().slice([0], [1]))));
      await last.data();
      tf.dispose([last, ...outs]);
    },
    train: async (i) =>
      void await trainStep(state, {
        x0,
        t,
        noiseSeed: i,
        dropoutSeed: i,
        learningRate: recipe.learningRate,
        step: i,
        microBatchSize,
      }, recipe),
    dispose: () => {
      unet.dispose();
      tf.dispose([x0, tForward, ...state.ema.values(), ...state.adam.m.values()]);
      tf.dispose([...state.adam.v.values()]);
    },
  };
}
