// Reading image tensors back to bytes, shared by the PNG, grid and GIF writers.
import type * as tf from "@tensorflow/tfjs";

/** The bytes of a batch of images: n images of h x w, RGB, row-major. */
export interface _Rgb8Batch {
  n: number;
  height: number;
  width: number;
  data: Uint8Array;
}

/**
 * Maps a [N, H, W, C] tensor in [-1, 1] (C = 1 or 3) to RGB bytes: round((x + 1) * 127.5),
 * clamped to [0, 255], NaN to 0. The tensor is read, not disposed.
 */
export async function _tensorToRgb8(images: tf.Tensor4D, what: string): Promise<_Rgb8Batch> {
  if (images === null || typeof images !== "object" || images.rank !== 4) {
    throw new TypeError(
      `Cannot write ${what}: expected a [N, H, W, C] image tensor, got rank ${
        (images as { rank?: number } | null)?.rank
      }`,
    );
  }
  const [n, height, width, c] = images.shape;
  if (c !== 1 && c !== 3) {
    throw new TypeError(
      `Cannot write ${what}: expected 1 or 3 channels (NHWC), got shape [${images.shape}]`,
    );
  }
  if (n < 1) throw new RangeError(`Cannot write ${what}: the batch is empty`);
  const src = await images.data();
  const data = new Uint8Array(n * height * width * 3);
  for (let i = 0, p = 0; i < n * height * width; i++) {
    for (let k = 0; k < 3; k++, p++) {
      const v = Math.round((src[i * c + (c === 1 ? 0 : k)] + 1) * 127.5);
      data[p] = v > 0 ? (v < 255 ? v : 255) : 0;
    }
  }
  return { n, height, width, data };
}
