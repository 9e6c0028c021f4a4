/**
 * A batch of images written as one PNG file per image.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { _tensorToRgb8 } from "./_pixels.ts";
import { encodePng } from "./png_encode.ts";

/**
 * Encodes each image of a batch in [-1, 1] as a PNG, mapping pixels to bytes as
 * round((x + 1) * 127.5), clamped to [0, 255].
 *
 * @param images A [N, H, W, C] tensor in [-1, 1], C = 1 or 3. It is read, not disposed.
 * @returns N PNG files' bytes, in batch order.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Image } from "imagescript";
 * import { setBackend } from "@x/ddpm";
 * import { tensorToImages } from "@x/ddpm/images";
 * await setBackend("cpu");
 * const x = tf.fill([2, 3, 5, 3], 0) as tf.Tensor4D;
 * const pngs = await tensorToImages(x);
 * x.dispose();
 * const first = await Image.decode(pngs[0]);
 * if (pngs.length !== 2 || first.width !== 5 || first.bitmap[0] !== 128) throw new Error();
 * ```
 */
export async function tensorToImages(images: tf.Tensor4D): Promise<Uint8Array[]> {
  const { n, height, width, data } = await _tensorToRgb8(images, "images");
  const pngs: Uint8Array[] = [];
  const size = height * width;
  for (let i = 0; i < n; i++) {
    const rgba = new Uint8Array(size * 4);
    for (let j = 0; j < size; j++) {
      rgba[j * 4] = data[(i * size + j) * 3];
      rgba[j * 4 + 1] = data[(i * size + j) * 3 + 1];
      rgba[j * 4 + 2] = data[(i * size + j) * 3 + 2];
      rgba[j * 4 + 3] = 255;
    }
    pngs.push(await encodePng({ width, height, data: rgba }));
  }
  return pngs;
}
