/**
 * A batch of images written as one PNG file per image.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { _ensureParent } from "../io/_fs.ts";
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
 * import { tensorToImages, setBackend } from "@x/ddpm";
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

/** Options of {@linkcode saveImages}. */
export interface SaveImagesOptions {
  /** Start of each file name, followed by the zero-padded index. Default: `"image_"`. */
  prefix?: string;
}

/**
 * Writes each image of a batch in [-1, 1] to its own PNG in a folder (created if needed),
 * named `<prefix><index>.png` with the index zero-padded to at least four digits.
 *
 * @param images A [N, H, W, C] tensor in [-1, 1]. It is read, not disposed.
 * @param dir The folder to write to.
 * @param opts The file name prefix.
 * @returns The paths written, in batch order.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { saveImages, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * // Writing needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   const x = tf.zeros([3, 4, 4, 3]) as tf.Tensor4D;
 *   const paths = await saveImages(x, dir, { prefix: "sample_" });
 *   x.dispose();
 *   if (!paths[2].endsWith("sample_0002.png")) throw new Error(paths[2]);
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function saveImages(
  images: tf.Tensor4D,
  dir: string,
  opts: SaveImagesOptions = {},
): Promise<string[]> {
  const { prefix = "image_" } = opts;
  const pngs = await tensorToImages(images);
  const digits = Math.max(4, String(pngs.length - 1).length);
  const base = dir === "" ? "." : dir.replace(/(.)[/\\]+$/, "$1");
  const paths = pngs.map((_, i) => `${base}/${prefix}${String(i).padStart(digits, "0")}.png`);
  await _ensureParent(paths[0]);
  for (let i = 0; i < pngs.length; i++) await Deno.writeFile(paths[i], pngs[i]);
  return paths;
}
