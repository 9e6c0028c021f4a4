/**
 * The timestep embedding of the paper's UNet: sinusoids, then a two-layer MLP.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { swish } from "./activations.ts";
import { dense } from "./dense.ts";
import type { DenseWeights } from "./layer_weights.ts";

/**
 * Sinusoidal embedding of integer timesteps (Vaswani et al. 2017, as in the reference code):
 * with `half = dim / 2` and frequencies `f_i = exp(-ln(10000) i / (half - 1))`, row `n` is
 * `[sin(t_n f_0), ..., sin(t_n f_{half-1}), cos(t_n f_0), ..., cos(t_n f_{half-1})]`.
 * This is diffusers' `get_timestep_embedding` with `flip_sin_to_cos=False` and
 * `downscale_freq_shift=1`. An odd `dim` gets a trailing zero column.
 *
 * @param t Timesteps, `[batch]`, int32 or float32.
 * @param dim Embedding width, at least 4.
 * @returns The embedding, `[batch, dim]` float32.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { sinusoidalEmbedding } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const e = await sinusoidalEmbedding(tf.tensor1d([0], "int32"), 8).data();
 * if (e[0] !== 0 || e[4] !== 1) throw new Error("sin(0) = 0, cos(0) = 1");
 * ```
 */
export function sinusoidalEmbedding(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  if (!Number.isInteger(dim) || dim < 4) {
    throw new RangeError(`sinusoidalEmbedding dim must be an integer >= 4: got ${dim}`);
  }
  if (t.rank !== 1) {
    throw new TypeError(`sinusoidalEmbedding expects timesteps of shape [batch]: got [${t.shape}]`);
  }
  const half = Math.floor(dim / 2);
  const freqs = Float32Array.from(
    { length: half },
    (_, i) => Math.exp(-Math.log(10000) * i / (half - 1)),
  );
  return tf.tidy(() => {
    const args = tf.mul(tf.reshape(tf.cast(t, "float32"), [-1, 1]), tf.tensor2d(freqs, [1, half]));
    const emb = tf.concat([tf.sin(args), tf.cos(args)], 1);
    return (dim % 2 === 1 ? tf.pad(emb, [[0, 0], [0, 1]]) : emb) as tf.Tensor2D;
  });
}

/** The two dense layers after the sinusoids (diffusers `time_embedding.linear_1/2`). */
export interface TimestepEmbeddingWeights {
  /** `ch -> 4 ch`. */
  linear1: DenseWeights;
  /** `4 ch -> 4 ch`. */
  linear2: DenseWeights;
}

/**
 * The full timestep embedding: sinusoids of width `ch`, dense to `4 ch`, swish, dense.
 * The width `ch` is read from `linear1`'s kernel.
 *
 * @param t Timesteps, `[batch]`.
 * @param weights The two dense layers.
 * @returns `[batch, 4 ch]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { timestepEmbedding } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const lin = (i: number, o: number) => ({
 *   kernel: tf.ones([i, o]) as tf.Tensor2D,
 *   bias: tf.zeros([o]) as tf.Tensor1D,
 * });
 * const e = timestepEmbedding(tf.tensor1d([3, 7], "int32"), {
 *   linear1: lin(8, 32),
 *   linear2: lin(32, 32),
 * });
 * if (e.shape.join() !== "2,32") throw new Error(e.shape.join());
 * ```
 */
export function timestepEmbedding(
  t: tf.Tensor1D,
  weights: TimestepEmbeddingWeights,
): tf.Tensor2D {
  return tf.tidy(() => {
    const emb = sinusoidalEmbedding(t, weights.linear1.kernel.shape[0]);
    return dense(swish(dense(emb, weights.linear1)), weights.linear2);
  });
}
