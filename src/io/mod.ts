/**
 * Files on disk: safetensors and PyTorch state dicts read from and written to paths, and
 * batches of images saved as PNGs, grids and GIFs. Every write goes to a temporary file that
 * is renamed into place, so a crash never leaves a partial file under the final name.
 *
 * @module
 */
export * from "./safetensors_file.ts";
export * from "./torch_file.ts";
export * from "./save_images.ts";
export * from "./save_grid.ts";
export * from "./save_gif.ts";
