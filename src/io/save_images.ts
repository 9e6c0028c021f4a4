/**
 * A batch of images written as one PNG file per image.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { tensorToImages } from "../images/png.ts";
import { _writeFileAtomic } from "./_atomic_write.ts";

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
 * import { setBackend } from "@x/ddpm";
 * import { saveImages } from "@x/ddpm/io";
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
  for (let i = 0; i < pngs.length; i++) {
    await _writeFileAtomic(paths[i], pngs[i], { createParent: i === 0 });
  }
  return paths;
}
