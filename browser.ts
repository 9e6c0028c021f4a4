/**
 * The part of ddpm that runs in a web page: the UNet, the schedulers and the sampler, the
 * safetensors reader and writer, grids and PNG encoding, and the choice of a browser backend
 * (WebGPU, WebGL, wasm); call `setBrowserBackend` before making a tensor. Nothing here touches Deno's APIs, the file system or native code;
 * `tests/browser_bundle_test.ts` bundles it for browsers and checks that.
 *
 * @example Sample from a tiny model with the WebAssembly backend
 * ```ts
 * import {
 *   createUNet, DDIMScheduler, gridPixels, presets, sample, setBrowserBackend,
 * } from "@x/ddpm/browser";
 * await setBrowserBackend("wasm"); // before any tensor: "auto" in a page
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 0 });
 * const images = await sample({
 *   unet, scheduler: new DDIMScheduler(), batchSize: 2, numInferenceSteps: 2, seed: 0,
 * });
 * const grid = await gridPixels(images, { cols: 2 }); // RGBA bytes for a canvas's ImageData
 * if (grid.width !== 18 || grid.height !== 8) throw new Error(`${grid.width}x${grid.height}`);
 * images.dispose();
 * unet.dispose();
 * ```
 *
 * @module
 */
export * from "./src/backends/browser_backend.ts";
export * from "./src/memory/out_of_memory.ts";
export * from "./src/random.ts";
export * from "./src/errors.ts";
export * from "./src/presets/mod.ts";
export * from "./src/nn/mod.ts";
// The createUNet that also takes a preset's name, as in mod.ts.
export { createUNet } from "./src/presets/create_unet.ts";
export * from "./src/diffusion/mod.ts";
export * from "./src/formats/safetensors.ts";
export * from "./src/images/png_encode.ts";
export * from "./src/images/grid_pixels.ts";
export * from "./src/images/grid.ts";
