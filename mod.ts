/**
 * ddpm: Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel 2020) on TensorFlow.js,
 * for Deno. Train the paper's UNet, sample with DDPM or DDIM, load Google's published models.
 *
 * @example Sample a few images from a (here untrained) tiny model
 * ```ts
 * import { createUNet, DDIMScheduler, presets, sample, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 0 });
 * const images = await sample({
 *   unet,
 *   scheduler: new DDIMScheduler(presets.tiny.scheduler),
 *   batchSize: 2,
 *   numInferenceSteps: 5,
 * });
 * if (images.shape.join() !== "2,8,8,3") throw new Error(images.shape.join());
 * ```
 *
 * @module
 */
export * from "./src/backends/set_backend.ts";
export * from "./src/memory/out_of_memory.ts";
export * from "./src/random.ts";
export * from "./src/errors.ts";
export * from "./src/presets/mod.ts";
export * from "./src/nn/mod.ts";
export * from "./src/diffusion/mod.ts";
export * from "./src/formats/mod.ts";
export * from "./src/images/mod.ts";
export * from "./src/data/mod.ts";
export * from "./src/diffusers/mod.ts";
export * from "./src/io/safetensors_file.ts";
export * from "./src/io/save_grid.ts";
export * from "./src/train/mod.ts";
