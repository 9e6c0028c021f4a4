/**
 * An animated GIF of the reverse process written to a file.
 *
 * @module
 */
import { encodeGif, type GifFrame, type GifOptions } from "../images/gif.ts";
import { _writeFileAtomic } from "./_atomic_write.ts";

/**
 * Writes an animated GIF (see {@linkcode encodeGif}), creating the parent folder if needed.
 *
 * @param frames The frames in order.
 * @param path Where to write the GIF.
 * @param opts Timing, and the grid layout of tensor frames.
 * @returns Nothing; the file exists when the promise resolves.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { saveGif, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * // Writing needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   const frames = [tf.zeros([1, 4, 4, 3]) as tf.Tensor4D, tf.ones([1, 4, 4, 3]) as tf.Tensor4D];
 *   await saveGif(frames, `${dir}/steps.gif`);
 *   tf.dispose(frames);
 *   if ((await Deno.stat(`${dir}/steps.gif`)).size === 0) throw new Error("empty");
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function saveGif(
  frames: GifFrame[],
  path: string,
  opts: GifOptions = {},
): Promise<void> {
  const gif = await encodeGif(frames, opts);
  await _writeFileAtomic(path, gif, { createParent: true });
}
