/**
 * Animated GIFs of the reverse process: one grid per recorded step, the last held longer.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Frame, Image } from "imagescript";
import { _imagescript } from "./_imagescript.ts";
import { _gridImage } from "./_grid_image.ts";
import { _tensorToRgb8 } from "./_pixels.ts";
import type { GridOptions } from "./grid_pixels.ts";

/**
 * One frame of a GIF: a [N, H, W, C] tensor in [-1, 1] (laid out as a grid) or the PNG bytes
 * of a picture, such as those {@linkcode imagesToGrid} returns.
 */
export type GifFrame = tf.Tensor4D | Uint8Array;

/** Options of {@linkcode encodeGif}: timing, plus the grid layout of tensor frames. */
export interface GifOptions extends GridOptions {
  /** How long each frame shows, in milliseconds (GIFs count in 10 ms units). Default: `100`. */
  delayMs?: number;
  /** How long the last frame shows, in milliseconds. Default: `2000`. */
  holdLastMs?: number;
}

/**
 * Encodes frames as an animated GIF that loops forever, every frame shown `delayMs` and the
 * last `holdLastMs`, so the final samples stay on screen. The encoder is imagescript's native
 * one, loaded on the first call: writing a GIF needs `--allow-ffi` (see the README's
 * Permissions).
 *
 * @param frames The frames in order, all the same size once laid out.
 * @param opts Timing, and the grid layout of tensor frames.
 * @returns The GIF file's bytes.
 * @throws {RangeError} If there are no frames or their sizes differ.
 *
 * @example Three frames of a 2x2 batch
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { GIF } from "imagescript";
 * import { setBackend } from "@x/ddpm";
 * import { encodeGif } from "@x/ddpm/images";
 * await setBackend("cpu");
 * const frames = [-1, 0, 1].map((v) => tf.fill([4, 8, 8, 3], v) as tf.Tensor4D);
 * const gif = await GIF.decode(await encodeGif(frames, { delayMs: 50 }));
 * tf.dispose(frames);
 * if (gif.length !== 3 || gif.width !== 18) throw new Error(`${gif.length} ${gif.width}`);
 * ```
 */
export async function encodeGif(frames: GifFrame[], opts: GifOptions = {}): Promise<Uint8Array> {
  const { delayMs = 100, holdLastMs = 2000 } = opts;
  if (!Array.isArray(frames) || frames.length === 0) {
    throw new RangeError("Cannot encode a GIF without frames: pass at least one frame");
  }
  for (const [name, ms] of [["delayMs", delayMs], ["holdLastMs", holdLastMs]] as const) {
    if (!(ms >= 0 && ms < 655_360)) {
      throw new RangeError(`Cannot encode a GIF: ${name} must be in [0, 655350], got ${ms}`);
    }
  }
  const { Frame, GIF } = await _imagescript();
  const gifFrames: Frame[] = [];
  for (let i = 0; i < frames.length; i++) {
    const image = await frameImage(frames[i], opts, i);
    const first = gifFrames[0] ?? image;
    if (image.width !== first.width || image.height !== first.height) {
      throw new RangeError(
        `Cannot encode a GIF: frame ${i} is ${image.width}x${image.height} but frame 0 is ` +
          `${first.width}x${first.height}; give every frame the same size`,
      );
    }
    const ms = i === frames.length - 1 ? holdLastMs : delayMs;
    gifFrames.push(Frame.from(image, ms));
  }
  return await new GIF(gifFrames).encode();
}

async function frameImage(frame: GifFrame, opts: GridOptions, i: number): Promise<Image> {
  if (frame instanceof Uint8Array) {
    const { Image } = await _imagescript();
    try {
      return await Image.decode(frame);
    } catch (err) {
      throw new TypeError(
        `Cannot encode a GIF: frame ${i} is bytes but not a PNG or JPEG (${
          err instanceof Error ? err.message : String(err)
        })`,
      );
    }
  }
  return await _gridImage(await _tensorToRgb8(frame, `GIF frame ${i}`), opts);
}
