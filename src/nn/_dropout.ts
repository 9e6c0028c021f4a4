/**
 * Inverted dropout with its mask drawn on the host.
 *
 * TF.js's `tf.dropout` draws a uniform tensor through its seeded JavaScript generator and
 * then floors, divides and multiplies: four passes and about 14 ns an element on the CPU
 * backends. A mulberry32 stream written straight into the mask is one pass at a few ns, and
 * gives the same mask on every backend for the same seed.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * `x * mask`, where each mask element is `1 / (1 - rate)` with probability `1 - rate` and 0
 * otherwise, drawn from `seed`.
 *
 * @param x The activations.
 * @param rate Probability of dropping an element, in [0, 1).
 * @param seed Seed of the mask.
 * @returns The dropped-out activations; `x` itself when `rate` is 0.
 */
export function _dropout<T extends tf.Tensor>(x: T, rate: number, seed: number): T {
  if (rate === 0) return x;
  const keep = 1 - rate;
  // An element is kept when its 32-bit draw is below keep * 2^32.
  const threshold = Math.floor(keep * 2 ** 32);
  const scale = 1 / keep;
  const mask = new Float32Array(x.size);
  let a = seed >>> 0;
  for (let i = 0; i < mask.length; i++) {
    // mulberry32, as in src/random.ts, inlined: a call per element would double the cost.
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    mask[i] = ((t ^ (t >>> 14)) >>> 0) < threshold ? scale : 0;
  }
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape, "float32")) as T);
}
