/**
 * A dataset held in memory as bytes, handing out batches as tensors in [-1, 1].
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Options of {@linkcode Dataset.getBatch}. */
export interface GetBatchOptions {
  /** Per image, whether to mirror it left-right (the paper's random flips). Default: none. */
  flip?: ArrayLike<boolean>;
}

/** Square RGB images in memory, and a way to turn some of them into a training batch. */
export interface Dataset {
  /** Number of images. */
  readonly size: number;
  /** Side of each square image in pixels. */
  readonly resolution: number;
  /** The images as bytes, `size * resolution * resolution * 3`, NHWC. */
  readonly images: Uint8Array;
  /** Class labels, one per image, where the source has them (CIFAR-10). */
  readonly labels?: Uint8Array;
  /** Where the images came from (a path, or "emoji"). */
  readonly source?: string;
  /**
   * Gathers images into a [n, r, r, 3] float32 tensor in [-1, 1] (bytes / 127.5 - 1).
   *
   * @param indices Which images, each in [0, size).
   * @param opts Optional horizontal flips, one per index.
   * @returns A new tensor the caller owns.
   */
  getBatch(indices: ArrayLike<number>, opts?: GetBatchOptions): tf.Tensor4D;
}

/** Extra fields of {@linkcode createDataset}. */
export interface CreateDatasetOptions {
  /** Class labels, one per image. */
  labels?: Uint8Array;
  /** Where the images came from. */
  source?: string;
}

/**
 * Wraps images held as bytes (NHWC, RGB) in a {@linkcode Dataset}.
 *
 * @param images `n * resolution * resolution * 3` bytes.
 * @param resolution Side of each square image.
 * @param opts Labels and a description of the source.
 * @returns The dataset; it shares `images`, it does not copy them.
 *
 * @example A flipped batch mirrors each row
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { createDataset } from "@x/ddpm/data";
 * await setBackend("cpu");
 * // One 2x2 image: left column black, right column white.
 * const data = createDataset(Uint8Array.of(0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255), 2);
 * const x = data.getBatch([0], { flip: [true] });
 * const v = await x.data();
 * x.dispose();
 * if (v[0] !== 1 || v[3] !== -1) throw new Error(String(v));
 * ```
 */
export function createDataset(
  images: Uint8Array,
  resolution: number,
  opts: CreateDatasetOptions = {},
): Dataset {
  if (!(images instanceof Uint8Array)) {
    throw new TypeError("Cannot create a dataset: images must be a Uint8Array of RGB bytes");
  }
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(
      `Cannot create a dataset: resolution must be a positive integer, current value is ${resolution}`,
    );
  }
  const pixels = resolution * resolution * 3;
  if (images.length === 0 || images.length % pixels !== 0) {
    throw new RangeError(
      `Cannot create a dataset: ${images.length} bytes is not a whole number of ` +
        `${resolution}x${resolution} RGB images (${pixels} bytes each)`,
    );
  }
  const size = images.length / pixels;
  if (opts.labels && opts.labels.length !== size) {
    throw new RangeError(
      `Cannot create a dataset: ${opts.labels.length} labels for ${size} images`,
    );
  }
  const getBatch = (indices: ArrayLike<number>, batchOpts: GetBatchOptions = {}): tf.Tensor4D => {
    const { flip } = batchOpts;
    const n = indices.length;
    if (n === 0) throw new RangeError("Cannot get a batch of no images: pass at least one index");
    if (flip && flip.length !== n) {
      throw new RangeError(`Cannot get a batch: ${flip.length} flips for ${n} indices`);
    }
    const out = new Float32Array(n * pixels);
    const row = resolution * 3;
    for (let b = 0; b < n; b++) {
      const idx = indices[b];
      if (!Number.isInteger(idx) || idx < 0 || idx >= size) {
        throw new RangeError(
          `Cannot get a batch: index ${idx} is outside the dataset of ${size} images`,
        );
      }
      const src = idx * pixels;
      const dst = b * pixels;
      if (flip?.[b]) {
        for (let y = 0; y < resolution; y++) {
          for (let x = 0; x < resolution; x++) {
            const s = src + y * row + (resolution - 1 - x) * 3;
            const d = dst + y * row + x * 3;
            out[d] = images[s] / 127.5 - 1;
            out[d + 1] = images[s + 1] / 127.5 - 1;
            out[d + 2] = images[s + 2] / 127.5 - 1;
          }
        }
      } else {
        for (let i = 0; i < pixels; i++) out[dst + i] = images[src + i] / 127.5 - 1;
      }
    }
    return tf.tensor4d(out, [n, resolution, resolution, 3], "float32");
  };
  return { size, resolution, images, labels: opts.labels, source: opts.source, getBatch };
}
