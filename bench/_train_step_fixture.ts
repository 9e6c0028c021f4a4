// One preset's UNet with fresh Adam and EMA state, a fixed batch, and closures that run a
// forward pass or a full training step on it: what the training benches share.
import * as tf from "@tensorflow/tfjs";
import {
  createAdamState,
  createUNet,
  DDPMScheduler,
  type PresetName,
  presets,
  type TrainState,
  trainStep,
} from "../mod.ts";

/** The runnable passes of one preset at one batch size. */
export interface TrainStepFixture {
  /** The model and optimiser state. */
  state: TrainState;
  /** Forward pass at a fixed timestep per image, read back to the host. */
  forward(): void;
  /** One training step; `i` seeds the noise and dropout and is Adam's step number. */
  train(i: number): void;
}

/**
 * Builds the fixture on the backend in use.
 *
 * @param name The preset.
 * @param batch Images per pass.
 * @returns The fixture.
 */
export function trainStepFixture(name: PresetName, batch: number): TrainStepFixture {
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
  return {
    state,
    forward: () => tf.tidy(() => void unet.predict(x0, tForward).dataSync()),
    train: (i) =>
      void trainStep(state, {
        x0,
        t,
        noiseSeed: i,
        dropoutSeed: i,
        learningRate: recipe.learningRate,
        step: i,
      }, recipe),
  };
}
