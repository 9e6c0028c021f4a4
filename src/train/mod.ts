/**
 * Training: the paper's recipe (Algorithm 1) with warmup, clipping, EMA and resumable
 * checkpoints. The run folder's files (config.json, checkpoints, the loss plot) are re-exported
 * from `src/runs/`.
 *
 * @example
 * ```ts
 * import { learningRateAt } from "@x/ddpm/train";
 * // Linear warmup over the first 5000 steps, as in the paper.
 * const lr = learningRateAt(2499, { learningRate: 2e-4, warmupSteps: 5000 });
 * if (Math.abs(lr - 1e-4) > 1e-12) throw new Error(String(lr));
 * ```
 *
 * @module
 */
export * from "./train.ts";
export * from "./train_options.ts";
export * from "./training_diverged_error.ts";
export * from "./train_state.ts";
export * from "./train_step.ts";
export * from "./batch_gradients.ts";
export * from "./micro_batch_size.ts";
export * from "./schedule.ts";
export * from "./optimizer.ts";
export * from "../runs/run_config.ts";
export * from "../runs/checkpoint.ts";
export * from "../runs/load_run.ts";
export * from "../runs/loss_plot.ts";
export * from "../runs/validate_train_config.ts";
export * from "../runs/validate_run_config.ts";
export * from "./collective.ts";
