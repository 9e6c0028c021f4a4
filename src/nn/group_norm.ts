/**
 * Group normalisation (Wu & He 2018), as the paper's UNet uses it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { NormWeights } from "./layer_weights.ts";

/** Options of {@linkcode groupNorm}. */
export interface GroupNormOptions {
  /** Number of channel groups; must divide the channel count. Default 32. */
  groups?: number;
  /** Added to the variance. Default 1e-6. */
  eps?: number;
}

/**
 * Normalises each group of channels of each image to zero mean and unit variance over its
 * pixels and channels (biased variance), then scales by `gamma` and shifts by `beta`.
 *
 * @param x Input, NHWC.
 * @param weights Per-channel `gamma` and `beta`.
 * @param opts Groups and epsilon.
 * @returns The normalised tensor, same shape as `x`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { groupNorm, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const y = groupNorm(x, { gamma: tf.ones([1]), beta: tf.zeros([1]) }, { groups: 1 });
 * if (Math.abs(tf.sum(y).dataSync()[0]) > 1e-5) throw new Error("mean not removed");
 * ```
 */
export function groupNorm(
  x: tf.Tensor4D,
  weights: NormWeights,
  opts: GroupNormOptions = {},
): tf.Tensor4D {
  const groups = opts.groups ?? 32;
  const eps = opts.eps ?? 1e-6;
  const [n, h, w, c] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new RangeError(`groupNorm groups must divide the ${c} channels: got ${groups}`);
  }
  return tf.tidy(() => {
    // Statistics as matrix products with a constant row and the result applied as one
    // per-channel scale: on wasm this is ~3x faster than tf.moments over a 5-D view, whose
    // reductions over non-trailing axes transpose the whole activation first.
    const hw = h * w, cg = c / groups;
    const avg = tf.fill([n, 1, hw], 1 / (hw * cg));
    const x3 = tf.reshape(x, [n, hw, c]);
    const perGroup = (perChannel: tf.Tensor) =>
      tf.reshape(
        tf.tile(tf.sum(tf.reshape(perChannel, [n, groups, cg]), 2, true), [1, 1, cg]),
        [n, 1, c],
      );
    const centred = tf.sub(x3, perGroup(tf.matMul(avg, x3)));
    const variance = perGroup(tf.matMul(avg, tf.square(centred)));
    const scale = tf.mul(tf.rsqrt(tf.add(variance, eps)), weights.gamma);
    return tf.reshape(tf.add(tf.mul(centred, scale), weights.beta), [n, h, w, c]);
  });
}
