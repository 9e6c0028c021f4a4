/**
 * A batch of images laid out as one grid of RGBA pixels, ready for a canvas's `ImageData` or
 * `encodePng`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { _layoutGrid, type GridOptions } from "./_grid_layout.ts";
import { _tensorToRgb8 } from "./_pixels.ts";
import type { RgbaImage } from "./png_encode.ts";

export type { GridOptions } from "./_grid_layout.ts";

/**
 * Lays a batch of images in [-1, 1] out as a grid, rows x cols with a gap between cells, as
 * RGBA bytes (alpha 255). Pixels map to bytes as round((x + 1) * 127.5), clamped to [0, 255];
 * a single channel is repeated as grey.
 *
 * @param images A [N, H, W, C] tensor in [-1, 1], C = 1 or 3. It is read, not disposed.
 * @param opts Columns, gap and background.
 * @returns A picture cols * W + (cols - 1) * gap wide and rows * H + (rows - 1) * gap high,
 *   rows = ceil(N / cols).
 * @throws {TypeError} for a tensor that is not [N, H, W, 1 or 3].
 * @throws {RangeError} for an empty batch or a bad layout option.
 *
 * @example Two 1x1 images side by side, one pixel apart
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gridPixels, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const x = tf.tensor4d([-1, -1, -1, 1, 1, 1], [2, 1, 1, 3]);
 * const { width, height, data } = await gridPixels(x, { cols: 2, gap: 1 });
 * x.dispose();
 * if (width !== 3 || height !== 1) throw new Error(`${width}x${height}`);
 * if (data[0] !== 0 || data[8] !== 255 || data[11] !== 255) throw new Error(String(data));
 * ```
 */
export async function gridPixels(
  images: tf.Tensor4D,
  opts: GridOptions = {},
): Promise<RgbaImage> {
  return _layoutGrid(await _tensorToRgb8(images, "a grid"), opts);
}
