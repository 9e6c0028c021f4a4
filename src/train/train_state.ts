/**
 * What one training step reads and updates: the model, its optimiser state and the forward
 * process, and the step's draws.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { PredictionType } from "../diffusion/scheduler_config.ts";
import type { UNet } from "../nn/unet.ts";
import type { AdamState } from "./optimizer.ts";

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
    readonly config: { predictionType: PredictionType; numTrainTimesteps: number };
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
  /**
   * Most images per forward and backward pass; the passes' gradients are summed into one
   * update, the same as the whole batch's. Default: the whole batch in one pass.
   */
  microBatchSize?: number;
  /**
   * Data-parallel training: `x0` and `t` are images `[offset, offset + x0.shape[0])` of a batch
   * of `total`, the rest on other ranks. Default: `x0` is the whole batch.
   */
  batchShare?: { offset: number; total: number };
  /**
   * Data-parallel training: sums the ranks' loss and gradients before the update (every rank
   * then takes the same step). It owns and disposes the tensors it is given.
   */
  reduceGradients?: (
    loss: tf.Scalar,
    grads: Record<string, tf.Tensor>,
  ) => Promise<{ loss: tf.Scalar; grads: Record<string, tf.Tensor> }>;
}
