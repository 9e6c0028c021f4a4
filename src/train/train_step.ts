/**
 * One optimisation step of the paper's Algorithm 1, separate from the loop's bookkeeping so
 * that it can be benchmarked and tested on its own.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainConfig } from "../presets/train_config.ts";
import { batchGradients } from "./batch_gradients.ts";
import type { StepInputs, TrainState } from "./train_state.ts";
import { adamUpdate, clipFactor, emaUpdate, globalNorm } from "./optimizer.ts";

/**
 * Takes one step: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, loss = ||target - model(x_t, t)||^2
 * (L_simple), gradients (summed over micro-batches, see {@linkcode batchGradients}), clipping at
 * the global norm, Adam, EMA. When the loss or gradient norm is not finite, nothing is updated.
 *
 * Everything runs on the device, the finiteness check and the clipping factor included
 * ({@linkcode clipFactor}); the step's one read is the loss and the gradient norm together,
 * awaited after every update has been queued, so a GPU backend never waits on the host.
 *
 * @param state Model and optimiser state, updated in place.
 * @param inputs The batch and this step's draws.
 * @param cfg The recipe (Adam's betas and epsilon, clipping, EMA decay).
 * @returns The loss and the gradient norm before clipping, once they have been read back.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createAdamState, createUNet, DDPMScheduler, presets, setBackend, trainStep } from "@x/ddpm";
 * await setBackend("cpu");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const weights = unet.getWeights();
 * const ema = new Map([...weights].map(([k, w]) => [k, tf.variable(w.clone())]));
 * const state = { unet, weights, adam: createAdamState(weights), ema, scheduler: new DDPMScheduler() };
 * const x0 = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
 * const { loss } = await trainStep(state, {
 *   x0, t: Int32Array.of(10, 900), noiseSeed: 1, dropoutSeed: 2, learningRate: 1e-4, step: 1,
 * }, presets.tiny.train);
 * if (!(loss > 0.5 && loss < 2)) throw new Error(`a fresh model's loss is E[eps^2] = 1: ${loss}`);
 * ```
 */
export async function trainStep(
  state: TrainState,
  inputs: StepInputs,
  cfg: Pick<TrainConfig, "adamBeta1" | "adamBeta2" | "adamEpsilon" | "gradClipNorm" | "emaDecay">,
): Promise<{ loss: number; gradNorm: number }> {
  const { weights, adam, ema } = state;
  let { loss, grads } = batchGradients(state, inputs);
  if (inputs.reduceGradients) ({ loss, grads } = await inputs.reduceGradients(loss, grads));
  let stats: tf.Tensor1D;
  try {
    stats = tf.tidy(() => {
      const norm = globalNorm(grads);
      // 0 on a non-finite step: Adam and the EMA then leave every weight as it is.
      const gradScale = clipFactor(norm, loss, cfg.gradClipNorm);
      adamUpdate(weights, grads, adam, {
        learningRate: inputs.learningRate,
        beta1: cfg.adamBeta1,
        beta2: cfg.adamBeta2,
        epsilon: cfg.adamEpsilon,
        step: inputs.step,
        gradScale,
      });
      emaUpdate(ema, weights, cfg.emaDecay, { apply: gradScale });
      return tf.stack([loss, norm]) as tf.Tensor1D;
    });
  } finally {
    tf.dispose([loss, ...Object.values(grads)]);
  }
  try {
    const [lossValue, gradNorm] = await stats.data();
    return { loss: lossValue, gradNorm };
  } finally {
    stats.dispose();
  }
}
