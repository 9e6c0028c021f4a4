/**
 * One optimisation step of the paper's Algorithm 1, separate from the loop's bookkeeping so
 * that it can be benchmarked and tested on its own.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { PredictionType } from "../diffusion/scheduler_config.ts";
import type { UNet } from "../nn/unet.ts";
import type { TrainConfig } from "../train_config.ts";
import { type AdamState, adamUpdate, emaUpdate, globalNorm } from "./optimizer.ts";

/** What one step needs: the model, its optimiser state, and the forward process. */
export interface TrainState {
  /** The network being trained. */
  unet: UNet;
  /** Its live weights (`unet.getWeights()`). */
  weights: Map<string, tf.Variable>;
  /** Adam's moments. */
  adam: AdamState;
  /** The moving average of the weights. */
  ema: Map<string, tf.Variable>;
  /** q(x_t | x_0) and, for v-prediction, the velocity target. */
  scheduler: {
    addNoise(x0: tf.Tensor4D, noise: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D;
    getVelocity(x0: tf.Tensor4D, noise: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D;
    readonly config: { predictionType: PredictionType };
  };
}

/** The inputs of one step, all drawn by the caller from (seed, step). */
export interface StepInputs {
  /** Clean images in [-1, 1]. */
  x0: tf.Tensor4D;
  /** One timestep per image. */
  t: Int32Array;
  /** Seed of the noise. */
  noiseSeed: number;
  /** Seed of dropout. */
  dropoutSeed: number;
  /** Learning rate of this step. */
  learningRate: number;
  /** 1-based step number, for Adam's bias correction. */
  step: number;
}

/**
 * Takes one step: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, loss = ||target - model(x_t, t)||^2
 * (L_simple), gradients, clipping at the global norm, Adam, EMA. When the loss or gradient
 * norm is not finite, nothing is updated.
 *
 * @param state Model and optimiser state, updated in place.
 * @param inputs The batch and this step's draws.
 * @param cfg The recipe (Adam's betas and epsilon, clipping, EMA decay).
 * @returns The loss and the gradient norm before clipping.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import {
 *   createAdamState, createUNet, DDPMScheduler, presets, setBackend, trainStep,
 * } from "@x/ddpm";
 * await setBackend("cpu");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const weights = unet.getWeights();
 * const ema = new Map([...weights].map(([k, w]) => [k, tf.variable(w.clone())]));
 * const state = { unet, weights, adam: createAdamState(weights), ema, scheduler: new DDPMScheduler() };
 * const x0 = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
 * const { loss } = trainStep(state, {
 *   x0, t: Int32Array.of(10, 900), noiseSeed: 1, dropoutSeed: 2, learningRate: 1e-4, step: 1,
 * }, presets.tiny.train);
 * if (!(loss > 0.5 && loss < 2)) throw new Error(`a fresh model's loss is E[eps^2] = 1: ${loss}`);
 * ```
 */
export function trainStep(
  state: TrainState,
  inputs: StepInputs,
  cfg: Pick<TrainConfig, "adamBeta1" | "adamBeta2" | "adamEpsilon" | "gradClipNorm" | "emaDecay">,
): { loss: number; gradNorm: number } {
  const { unet, weights, adam, ema, scheduler } = state;
  const { x0 } = inputs;
  return tf.tidy(() => {
    const t = tf.tensor1d(inputs.t, "int32");
    const noise = tf.randomNormal(x0.shape, 0, 1, "float32", inputs.noiseSeed) as tf.Tensor4D;
    const xt = scheduler.addNoise(x0, noise, t);
    // L_simple regresses the noise; x_0 and v are the other parameterisations.
    const predictionType = scheduler.config.predictionType;
    const target = predictionType === "epsilon"
      ? noise
      : predictionType === "sample"
      ? x0
      : scheduler.getVelocity(x0, noise, t);
    const { value, grads: byVarName } = tf.variableGrads(
      () =>
        tf.mean(tf.squaredDifference(
          unet.predict(xt, t, { training: true, seed: inputs.dropoutSeed }),
          target,
        )) as tf.Scalar,
      [...weights.values()],
    );
    // variableGrads keys gradients by tf.Variable.name; the weights map by diffusers name.
    const grads: Record<string, tf.Tensor> = {};
    for (const [name, w] of weights) if (byVarName[w.name]) grads[name] = byVarName[w.name];
    const loss = value.dataSync()[0];
    const gradNorm = globalNorm(grads).dataSync()[0];
    if (Number.isFinite(loss) && Number.isFinite(gradNorm)) {
      const gradScale = cfg.gradClipNorm > 0 && gradNorm > cfg.gradClipNorm
        ? cfg.gradClipNorm / gradNorm
        : 1;
      adamUpdate(weights, grads, adam, {
        learningRate: inputs.learningRate,
        beta1: cfg.adamBeta1,
        beta2: cfg.adamBeta2,
        epsilon: cfg.adamEpsilon,
        step: inputs.step,
        gradScale,
      });
      emaUpdate(ema, weights, cfg.emaDecay);
    }
    return { loss, gradNorm };
  });
}
