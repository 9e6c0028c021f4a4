/**
 * Writing a grid of images to a PNG file.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { imagesToGrid } from "../images/grid.ts";
import type { GridOptions } from "../images/grid_pixels.ts";
import { _writeFileAtomic } from "./_atomic_write.ts";

/**
 * Writes a batch of images in [-1, 1] as one PNG grid (see {@linkcode imagesToGrid}),
 * creating the parent folder if needed.
 *
 * @param images A [N, H, W, C] tensor in [-1, 1]. It is read, not disposed.
 * @param path Where to write the PNG.
 * @param opts Columns, gap and background.
 * @returns Nothing; the file exists when the promise resolves.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { saveGrid, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * // Writing needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   const x = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
 *   await saveGrid(x, `${dir}/grid.png`, { cols: 2 });
 *   x.dispose();
 *   if ((await Deno.stat(`${dir}/grid.png`)).size === 0) throw new Error("empty");
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function saveGrid(
  images: tf.Tensor4D,
  path: string,
  opts: GridOptions = {},
): Promise<void> {
  const png = await imagesToGrid(images, opts);
  await _writeFileAtomic(path, png, { createParent: true });
}
