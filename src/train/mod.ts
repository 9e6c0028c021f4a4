/**
 * Training: the paper's recipe (Algorithm 1) with warmup, clipping, EMA and resumable
 * checkpoints.
 *
 * @module
 */
export * from "./train.ts";
export * from "./train_step.ts";
export * from "./batch_gradients.ts";
export * from "./micro_batch_size.ts";
export * from "./checkpoint.ts";
export * from "./load_run.ts";
export * from "./loss_plot.ts";
export * from "./schedule.ts";
export * from "./optimizer.ts";
export * from "./validate_train_config.ts";
export * from "./validate_run_config.ts";
