/**
 * Single-head self-attention over all pixels, as in the paper's UNet at 16x16.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { backendCapabilities } from "../kernels/backend_registry.ts";
import { dense, matMul2d } from "./dense.ts";
import { groupNorm } from "./group_norm.ts";
import type { DenseWeights, NormWeights } from "./layer_weights.ts";

/** Weights of {@linkcode selfAttention} (diffusers `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0`). */
export interface AttentionWeights {
  /** GroupNorm before the projections. */
  norm: NormWeights;
  /** Query projection, `[C, C]`. */
  q: DenseWeights;
  /** Key projection, `[C, C]`. */
  k: DenseWeights;
  /** Value projection, `[C, C]`. */
  v: DenseWeights;
  /** Output projection, `[C, C]`; zero-initialised so the block starts as the identity. */
  out: DenseWeights;
}

/** Options of {@linkcode selfAttention}. */
export interface AttentionOptions {
  /** GroupNorm groups. Default 32. */
  groups?: number;
  /** GroupNorm epsilon. Default 1e-6. */
  eps?: number;
}

/**
 * Residual single-head self-attention: `x + out(softmax(q k^T / sqrt(C)) v)` with
 * `q, k, v` 1x1 projections of `groupNorm(x)`, the softmax over all `H W` positions.
 *
 * @param x Input, NHWC.
 * @param weights Norm and the four projections.
 * @param opts GroupNorm settings.
 * @returns Same shape as `x`.
 *
 * @example A zero output projection makes the block the identity
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { selfAttention } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const lin = (z: boolean) => ({
 *   kernel: (z ? tf.zeros([4, 4]) : tf.ones([4, 4])) as tf.Tensor2D,
 *   bias: tf.zeros([4]) as tf.Tensor1D,
 * });
 * const x = tf.randomNormal([1, 2, 2, 4]) as tf.Tensor4D;
 * const y = selfAttention(x, {
 *   norm: { gamma: tf.ones([4]) as tf.Tensor1D, beta: tf.zeros([4]) as tf.Tensor1D },
 *   q: lin(false), k: lin(false), v: lin(false), out: lin(true),
 * }, { groups: 2 });
 * if ((await tf.max(tf.abs(tf.sub(x, y))).data())[0] !== 0) throw new Error();
 * ```
 */
export function selfAttention(
  x: tf.Tensor4D,
  weights: AttentionWeights,
  opts: AttentionOptions = {},
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    const normed = tf.reshape(groupNorm(x, weights.norm, opts), [n, h * w, c]);
    const q = tf.mul(dense(normed, weights.q), 1 / Math.sqrt(c));
    const k = dense(normed, weights.k);
    const v = dense(normed, weights.v);
    if (backendCapabilities().nativeMatMul) {
      const probs = tf.softmax(tf.matMul(q, k, false, true));
      const attended = dense(tf.matMul(probs, v), weights.out);
      return tf.add(x, tf.reshape(attended, [n, h, w, c]));
    }
    // One 2-D product per image, as a 1x1 conv: wasm's matMul (batched or not) runs far
    // below its XNNPACK convolution.
    // (tf.unstack's gradient fails for a batch of one, so that case reshapes instead.)
    const perImage = (a: tf.Tensor) => n === 1 ? [tf.reshape(a, [h * w, c])] : tf.unstack(a);
    const ks = perImage(k), vs = perImage(v);
    const heads = perImage(q).map((qi, i) =>
      matMul2d(
        tf.softmax(matMul2d(qi as tf.Tensor2D, tf.transpose(ks[i]) as tf.Tensor2D)),
        vs[i] as tf.Tensor2D,
      )
    );
    const attended = dense(n === 1 ? tf.expandDims(heads[0], 0) : tf.stack(heads), weights.out);
    return tf.add(x, tf.reshape(attended, [n, h, w, c]));
  });
}
