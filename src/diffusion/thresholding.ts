/**
 * Keeping the predicted x_0 inside the data range before it enters the posterior mean.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Dynamic thresholding (Saharia et al. 2022, Imagen): per sample, s is the `ratio` quantile of
 * |x_0| (linear interpolation, as `torch.quantile`), clamped to [1, maxValue]; x_0 is then
 * clipped to [-s, s] and divided by s. With maxValue = 1 this is plain clipping to [-1, 1].
 *
 * @param x0 The predicted x_0, batch first.
 * @param opts `ratio` in (0, 1] and `maxValue` > 0, diffusers' `dynamic_thresholding_ratio`
 * and `sample_max_value`.
 * @returns The thresholded x_0, same shape.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { dynamicThreshold } from "@x/ddpm/diffusion";
 * await setBackend("cpu");
 * const x = tf.tensor4d([0, 1, 2, 4], [1, 1, 1, 4]);
 * const y = dynamicThreshold(x, { ratio: 1, maxValue: 2 });
 * // s = min(max(4, 1), 2) = 2: clip to [-2, 2], divide by 2
 * if ((await y.data()).join() !== "0,0.5,1,1") throw new Error("wrong threshold");
 * ```
 */
export function dynamicThreshold<T extends tf.Tensor>(
  x0: T,
  opts: { ratio: number; maxValue: number },
): T {
  return tf.tidy(() => {
    const batch = x0.shape[0];
    const n = x0.size / batch;
    const flat = tf.reshape(tf.abs(x0), [batch, n]);
    // top-k of all n values sorts each row descending; the quantile reads two neighbours.
    const sorted = tf.reverse(tf.topk(flat, n, true).values, 1);
    const pos = opts.ratio * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    const frac = pos - lo;
    const vLo = tf.slice(sorted, [0, lo], [batch, 1]);
    const vHi = tf.slice(sorted, [0, hi], [batch, 1]);
    const q = tf.add(vLo, tf.mul(tf.sub(vHi, vLo), frac));
    const s = tf.minimum(tf.maximum(q, 1), opts.maxValue);
    const flatX = tf.reshape(x0, [batch, n]);
    const clipped = tf.div(tf.minimum(tf.maximum(flatX, tf.neg(s)), s), s);
    return tf.reshape(clipped, x0.shape) as T;
  });
}
