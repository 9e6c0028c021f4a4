/**
 * A batch of images laid out as one grid picture.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { _ensureParent } from "./_fs.ts";
import { _gridImage } from "./_grid_image.ts";
import { _tensorToRgb8 } from "./_pixels.ts";

/** Layout of {@linkcode imagesToGrid}. */
export interface GridOptions {
  /** Images per row. Default: `ceil(sqrt(N))`. */
  cols?: number;
  /** Pixels between neighbouring images (none around the border). Default: `2`. */
  gap?: number;
  /** RGB bytes of the gaps and of empty cells in the last row. Default: `[0, 0, 0]`. */
  background?: readonly [number, number, number];
}

/**
 * Lays a batch of images in [-1, 1] out as a grid, rows x cols with a gap between cells, and
 * encodes it as PNG. Pixels map to bytes as round((x + 1) * 127.5), clamped to [0, 255].
 *
 * @param images A [N, H, W, C] tensor in [-1, 1], C = 1 or 3. It is read, not disposed.
 * @param opts Columns, gap and background.
 * @returns The PNG bytes of a picture cols * W + (cols - 1) * gap wide and
 *   rows * H + (rows - 1) * gap high, rows = ceil(N / cols).
 *
 * @example Four 2x2 images make a 6x6 grid
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Image } from "imagescript";
 * import { imagesToGrid, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const x = tf.zeros([4, 2, 2, 3]) as tf.Tensor4D;
 * const grid = await Image.decode(await imagesToGrid(x));
 * x.dispose();
 * if (grid.width !== 6 || grid.height !== 6) throw new Error(`${grid.width}x${grid.height}`);
 * ```
 */
export async function imagesToGrid(
  images: tf.Tensor4D,
  opts: GridOptions = {},
): Promise<Uint8Array> {
  const batch = await _tensorToRgb8(images, "a grid");
  return await _gridImage(batch, opts).encode();
}

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
  await _ensureParent(path);
  await Deno.writeFile(path, png);
}
