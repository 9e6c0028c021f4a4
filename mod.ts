/**
 * ddpm: Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel 2020) on TensorFlow.js,
 * for Deno.
 *
 * @example Pick a backend
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * const name = await setBackend("cpu");
 * if (name !== "cpu") throw new Error(name);
 * ```
 *
 * @module
 */
export * from "./src/backend.ts";
export * from "./src/random.ts";
export * from "./src/presets.ts";
export * from "./src/train_config.ts";
export * from "./src/nn/unet_config.ts";
export * from "./src/nn/mod.ts";
export * from "./src/diffusion/scheduler_config.ts";
export * from "./src/diffusion/mod.ts";
export * from "./src/diffusion/nll_math.ts";
export * from "./src/diffusion/nll.ts";
export * from "./src/diffusion/interpolate.ts";
export * from "./src/diffusion/inpaint.ts";
export * from "./src/diffusion/sample.ts";
export * from "./src/train/train.ts";
export * from "./src/train/train_step.ts";
export * from "./src/train/checkpoint.ts";
export * from "./src/train/load_run.ts";
export * from "./src/train/loss_plot.ts";
export * from "./src/train/schedule.ts";
export * from "./src/train/optimizer.ts";
export * from "./src/io/safetensors.ts";
export * from "./src/io/torch_pickle.ts";
export * from "./src/io/pretrained.ts";
export * from "./src/io/save_diffusers.ts";
export * from "./src/io/image.ts";
export * from "./src/io/png.ts";
export * from "./src/io/grid.ts";
export * from "./src/io/gif.ts";
export * from "./src/io/dataset_error.ts";
export * from "./src/io/dataset_options.ts";
export * from "./src/io/in_memory_dataset.ts";
export * from "./src/io/batch_indices.ts";
export * from "./src/io/folder_dataset.ts";
export * from "./src/io/cifar10_dataset.ts";
export * from "./src/io/emoji_dataset.ts";
export * from "./src/io/dataset.ts";
