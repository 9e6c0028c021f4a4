/**
 * A batch of images laid out as one grid picture, encoded as PNG. Runs in browsers too;
 * `save_grid.ts` writes it to a file.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { type GridOptions, gridPixels } from "./grid_pixels.ts";
import { encodePng } from "./png_encode.ts";

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
 * import { setBackend } from "@x/ddpm";
 * import { imagesToGrid } from "@x/ddpm/images";
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
  return await encodePng(await gridPixels(images, opts));
}
