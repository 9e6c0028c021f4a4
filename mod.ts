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
export * from "./src/diffusion/scheduler_config.ts";
export * from "./src/train/schedule.ts";
export * from "./src/train/optimizer.ts";
