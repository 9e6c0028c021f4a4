/**
 * Files on disk: safetensors and PyTorch state dicts read from and written to paths, and
 * batches of images saved as PNGs, grids and GIFs. Every write goes to a temporary file that
 * is renamed into place, so a crash never leaves a partial file under the final name.
 *
 * @example
 * ```ts
 * import { loadSafetensorsFile, saveSafetensorsFile } from "@x/ddpm/io";
 * const dir = await Deno.makeTempDir();
 * const w = { shape: [2], data: new Float32Array([1, 2]) };
 * await saveSafetensorsFile(`${dir}/w.safetensors`, new Map([["w", w]]));
 * const { tensors } = await loadSafetensorsFile(`${dir}/w.safetensors`);
 * await Deno.remove(dir, { recursive: true });
 * if (tensors.get("w")?.shape.join() !== "2") throw new Error();
 * ```
 *
 * @module
 */
export * from "./safetensors_file.ts";
export * from "./torch_file.ts";
export * from "./save_images.ts";
export * from "./save_grid.ts";
export * from "./save_gif.ts";
