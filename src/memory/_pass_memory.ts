// The memory of one pass of a model, measured by tf.profile: the peak of all tensors held, and
// the size of every tensor a kernel reads or writes (what a GPU's per-buffer limit applies to).
// Both are fitted as `fixed + images * perImage` from passes of one and two images.
import * as tf from "@tensorflow/tfjs";

/** Memory as a function of the images in a pass (how the two combine is the caller's to say). */
export interface _LinearBytes {
  /** Bytes whatever the images. */
  fixedBytes: number;
  /** Bytes added by each image. */
  perImageBytes: number;
}

/** What {@linkcode _profilePass} measures. */
export interface _PassProfile {
  /** The most bytes of tensors held at once. */
  peakBytes: number;
  /** Bytes of every kernel input and output, in call order (4 bytes a value: float32, int32). */
  tensorBytes: number[];
}

/** Runs `pass` under tf.profile. Nothing is read back: the engine counts as kernels are called. */
export async function _profilePass(pass: () => void | Promise<void>): Promise<_PassProfile> {
  const info = await tf.profile(pass);
  const tensorBytes: number[] = [];
  for (const k of info.kernels) {
    for (const shape of [...k.inputShapes, ...k.outputShapes]) {
      if (shape) tensorBytes.push(4 * shape.reduce((a, b) => a * b, 1));
    }
  }
  return { peakBytes: info.peakBytes, tensorBytes };
}

/** The total memory of passes of one and two images as a line; at least 1 byte per image. */
export function _fitPeak(one: _PassProfile, two: _PassProfile): _LinearBytes {
  const perImageBytes = Math.max(1, two.peakBytes - one.peakBytes);
  return { fixedBytes: Math.max(0, one.peakBytes - perImageBytes), perImageBytes };
}

/**
 * A bound on the largest tensor of a pass of n images, `max(fixedBytes, n * perImageBytes)`,
 * from the largest tensors of passes of one and two images. Every tensor is `f + n * g` bytes
 * with f, g >= 0 (a weight, an activation, or a mix): at n = 1 it is at most the largest of the
 * first pass, and g is at most half the largest of the second, so for n >= 2,
 * f + n * g <= (f + 2g) + (n - 2) g <= n * largest2 / 2. The passes' kernels need not match one
 * to one (on wasm, attention runs per image), and the bound is exact for the largest activation.
 */
export function _fitLargestTensor(one: _PassProfile, two: _PassProfile): _LinearBytes {
  return {
    fixedBytes: Math.max(0, ...one.tensorBytes),
    perImageBytes: Math.max(1, ...two.tensorBytes) / 2,
  };
}
