/**
 * Group normalisation (Wu & He 2018), as the paper's UNet uses it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { swish as swishOp } from "./activations.ts";
import {
  _checkGroups,
  _ensureGroupNormGradient,
  GROUP_NORM,
  type GroupNormAttrs,
} from "../kernels/_group_norm.ts";
import { _groupNormComposite } from "./_group_norm_composite.ts";
import type { NormWeights } from "./layer_weights.ts";

/** Options of {@linkcode groupNorm}. */
export interface GroupNormOptions {
  /** Number of channel groups; must divide the channel count. Default 32. */
  groups?: number;
  /** Added to the variance. Default 1e-6. */
  eps?: number;
  /** Applies swish (`y * sigmoid(y)`) to the result, fused where the backend can. Default false. */
  swish?: boolean;
}

/**
 * Normalises each group of channels of each image to zero mean and unit variance over its
 * pixels and channels (biased variance), then scales by `gamma` and shifts by `beta`, and
 * optionally applies swish.
 *
 * On a backend that registers the `DdpmGroupNorm` kernel (see `registerGroupNormKernels`)
 * this, its swish and its gradient each run as one kernel; elsewhere it is composed from
 * stock TF.js ops.
 *
 * @param x Input, NHWC float32.
 * @param weights Per-channel `gamma` and `beta`, `[C]`.
 * @param opts Groups, epsilon and swish.
 * @returns The normalised tensor, same shape as `x`.
 * @throws {RangeError} when `groups` does not divide the channel count.
 * @throws {TypeError} when `gamma` or `beta` does not hold one value per channel.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { groupNorm } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
 * const y = groupNorm(x, { gamma: tf.ones([1]), beta: tf.zeros([1]) }, { groups: 1 });
 * if (Math.abs((await tf.sum(y).data())[0]) > 1e-5) throw new Error("mean not removed");
 * ```
 *
 * @example Fused with the swish that follows it in the UNet
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { groupNorm, swish } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 9], [1, 2, 2, 2]);
 * const w = { gamma: tf.tensor1d([1, 2]), beta: tf.tensor1d([0, 1]) };
 * const fused = groupNorm(x, w, { groups: 2, swish: true });
 * const apart = swish(groupNorm(x, w, { groups: 2 }));
 * if ((await tf.max(tf.abs(tf.sub(fused, apart))).data())[0] > 1e-6) throw new Error();
 * ```
 */
export function groupNorm(
  x: tf.Tensor4D,
  weights: NormWeights,
  opts: GroupNormOptions = {},
): tf.Tensor4D {
  const attrs: GroupNormAttrs = {
    groups: opts.groups ?? 32,
    eps: opts.eps ?? 1e-6,
    swish: opts.swish ?? false,
  };
  const c = x.shape[3];
  _checkGroups(c, attrs.groups);
  const { gamma, beta } = weights;
  if (gamma.size !== c || beta.size !== c) {
    throw new TypeError(
      `groupNorm gamma and beta must have ${c} values, one per channel: got ${gamma.size} and ${beta.size}`,
    );
  }
  if (x.dtype === "float32" && tf.getKernel(GROUP_NORM, tf.getBackend())) {
    _ensureGroupNormGradient();
    return tf.engine().runKernel(GROUP_NORM, { x, gamma, beta }, attrs) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const y = _groupNormComposite(x, weights, attrs.groups, attrs.eps);
    return attrs.swish ? swishOp(y) : y;
  });
}
