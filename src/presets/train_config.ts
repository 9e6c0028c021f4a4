/**
 * The configuration of {@linkcode train}: every knob of the paper's training recipe in one
 * place.
 *
 * @module
 */

/** Every knob of the training loop, with the paper's values as defaults. */
export interface TrainConfig {
  /** Images per step. Paper: 128 (CIFAR10), 64 (256x256). */
  batchSize: number;
  /** Peak learning rate of Adam. Paper: 2e-4 (CIFAR10), 2e-5 (256x256). */
  learningRate: number;
  /** Steps of linear learning-rate warmup from 0. Paper: 5000. */
  warmupSteps: number;
  /**
   * After warmup: `"constant"` (the paper's, and the default) or `"cosine"`, half a cosine from
   * `learningRate` down to 0 at `steps` (Loshchilov & Hutter 2017), which ends a short run on
   * settled weights. Changing `steps` on resume stretches the rest of the curve.
   */
  lrDecay?: "constant" | "cosine";
  /** Clip gradients to this global L2 norm; 0 disables clipping. Paper: 1.0. */
  gradClipNorm: number;
  /** Decay of the exponential moving average of the weights. Paper: 0.9999. */
  emaDecay: number;
  /**
   * Cap the EMA decay by (1 + step) / (10 + step) early in training, so that short runs
   * sample from trained weights. Default false (the paper's constant decay).
   */
  emaWarmup: boolean;
  /** Adam beta1. Default 0.9. */
  adamBeta1: number;
  /** Adam beta2. Default 0.999. */
  adamBeta2: number;
  /** Adam epsilon. Paper: 1e-8. */
  adamEpsilon: number;
  /** Random horizontal flips of training images. Paper: yes except LSUN bedroom. */
  randomFlip: boolean;
  /** Total optimisation steps. Paper: 800k (CIFAR10), 500k (CelebA-HQ), 2.4M (bedroom). */
  steps: number;
  /** Write a checkpoint every this many steps. */
  checkpointEvery: number;
  /** Write a grid of EMA samples every this many steps; 0 disables. */
  sampleEvery: number;
  /** Checkpoints kept on disk; older ones are deleted. */
  keepCheckpoints: number;
  /**
   * Most images per forward and backward pass. A larger batch runs in ceil(batch / this)
   * passes whose gradients are summed into one Adam step, the same update as the whole batch
   * (noise and timesteps are drawn for the whole batch; with dropout, each pass draws its own
   * masks). Default: chosen by `train()` from the backend's memory limit (wasm: 4 GiB) and the
   * model's memory per image, measured on two small passes; the whole batch where the backend
   * has no known limit. `train()` stores the value used in config.json.
   */
  microBatchSize?: number;
  /**
   * The arithmetic of convolutions and matrix products, as the program chose it with
   * `setBackend(name, { precision })`: `"fp32"` (default) or `"bf16"` (mixed precision on the
   * onednn backend). `train()` records it; the command line's `--resume` keeps it unless
   * `--precision` is given.
   */
  precision?: "fp32" | "bf16";
}

/** The defaults of {@linkcode TrainConfig}: the paper's CIFAR10 recipe. */
export const DEFAULT_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze({
  batchSize: 128,
  learningRate: 2e-4,
  warmupSteps: 5000,
  gradClipNorm: 1.0,
  emaDecay: 0.9999,
  emaWarmup: false,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  randomFlip: true,
  steps: 800_000,
  checkpointEvery: 5000,
  sampleEvery: 5000,
  keepCheckpoints: 3,
});
