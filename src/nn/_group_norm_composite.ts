/**
 * Group norm composed from TF.js ops: the path for backends without the fused kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { NormWeights } from "./layer_weights.ts";

/** Group norm of NHWC `x` from stock ops; `groups` must already be checked. */
export function _groupNormComposite(
  x: tf.Tensor4D,
  weights: NormWeights,
  groups: number,
  eps: number,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
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
