/**
 * The closed forms of `closed_forms.ts` applied to tensors: sampling q(x_t | x_0), recovering
 * x_0 and the noise from a model's output, and the posterior mean. Each coefficient is a number
 * (one timestep for the whole batch) or a tensor that broadcasts against the images (one
 * timestep per batch element, as {@linkcode extract} gives them).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ForwardCoefficients, PosteriorMeanCoefficients } from "./closed_forms.ts";
import type { PredictionType } from "./scheduler_config.ts";

/** A coefficient: one number for the batch, or a tensor broadcasting against the images. */
export type Coefficient = number | tf.Tensor;

/**
 * Samples the forward process (eq. 4): x_t = sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) eps.
 *
 * @param x0 Clean images, NHWC.
 * @param noise Standard normal noise, same shape.
 * @param c The scales, from {@linkcode forwardCoefficients} or per-row tables.
 * @returns x_t; the caller disposes it (or runs inside `tf.tidy`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { forwardCoefficients, qSample } from "@x/ddpm/diffusion";
 * await setBackend("cpu");
 * const xt = qSample(tf.ones([1, 1, 1, 1]), tf.ones([1, 1, 1, 1]), forwardCoefficients(0.36));
 * if (Math.abs((await xt.data())[0] - 1.4) > 1e-6) throw new Error("0.6 x0 + 0.8 eps");
 * ```
 */
export function qSample(
  x0: tf.Tensor4D,
  noise: tf.Tensor4D,
  c: ForwardCoefficients<Coefficient>,
): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(x0, c.sqrtAlphaProd), tf.mul(noise, c.sqrtOneMinusAlphaProd)));
}

/**
 * The noise that takes x_0 to x_t (eq. 4 solved for eps):
 * eps = (x_t - sqrt(alpha-bar_t) x_0) / sqrt(1 - alpha-bar_t).
 *
 * @param xt The noisy images.
 * @param x0 The clean images (or an estimate).
 * @param c The scales at t.
 * @returns eps, same shape.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { epsFromX0, forwardCoefficients } from "@x/ddpm/diffusion";
 * await setBackend("cpu");
 * const eps = epsFromX0(tf.fill([1, 1, 1, 1], 1.4), tf.ones([1, 1, 1, 1]), forwardCoefficients(0.36));
 * if (Math.abs((await eps.data())[0] - 1) > 1e-6) throw new Error("(1.4 - 0.6) / 0.8");
 * ```
 */
export function epsFromX0(
  xt: tf.Tensor4D,
  x0: tf.Tensor4D,
  c: ForwardCoefficients<Coefficient>,
): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.sub(xt, tf.mul(x0, c.sqrtAlphaProd)), c.sqrtOneMinusAlphaProd));
}

/**
 * x_0 and eps from a model's output at x_t, whatever the model predicts: eps (x_0 by eq. 15),
 * x_0 itself (eps by eq. 4), or v = sqrt(alpha-bar) eps - sqrt(1 - alpha-bar) x_0 (Salimans &
 * Ho 2022).
 *
 * @param predictionType What `modelOutput` is.
 * @param modelOutput The model's prediction, same shape as `xt`.
 * @param xt The model's input.
 * @param c The scales at t.
 * @returns New tensors x0 and eps (never `modelOutput` itself).
 * @throws {RangeError} for an unknown prediction type.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { forwardCoefficients, predictX0AndEps } from "@x/ddpm/diffusion";
 * await setBackend("cpu");
 * const xt = tf.fill([1, 1, 1, 1], 1.4) as tf.Tensor4D;
 * const { x0 } = predictX0AndEps("epsilon", tf.ones([1, 1, 1, 1]), xt, forwardCoefficients(0.36));
 * if (Math.abs((await x0.data())[0] - 1) > 1e-6) throw new Error("(1.4 - 0.8) / 0.6");
 * ```
 */
export function predictX0AndEps(
  predictionType: PredictionType,
  modelOutput: tf.Tensor4D,
  xt: tf.Tensor4D,
  c: ForwardCoefficients<Coefficient>,
): { x0: tf.Tensor4D; eps: tf.Tensor4D } {
  const sa = c.sqrtAlphaProd, sb = c.sqrtOneMinusAlphaProd;
  switch (predictionType) {
    case "epsilon":
      return {
        x0: tf.tidy(() => tf.div(tf.sub(xt, tf.mul(modelOutput, sb)), sa)),
        eps: tf.clone(modelOutput),
      };
    case "sample":
      return { x0: tf.clone(modelOutput), eps: epsFromX0(xt, modelOutput, c) };
    case "v_prediction":
      return tf.tidy(() => ({
        x0: tf.sub(tf.mul(xt, sa), tf.mul(modelOutput, sb)),
        eps: tf.add(tf.mul(modelOutput, sa), tf.mul(xt, sb)),
      }));
    default:
      throw new RangeError(
        `Unknown predictionType "${predictionType}": expected "epsilon", "sample" or "v_prediction"`,
      );
  }
}

/**
 * The posterior mean mu-tilde(x_t, x_0) = x0Coef x_0 + xtCoef x_t (eq. 7).
 *
 * @param x0 x_0 (or its estimate).
 * @param xt x_t.
 * @param c The coefficients, from {@linkcode posteriorMeanCoefficients} or per-row tables.
 * @returns The mean of q(x_{t-1} | x_t, x_0).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { posteriorMean } from "@x/ddpm/diffusion";
 * await setBackend("cpu");
 * const m = posteriorMean(tf.ones([1, 1, 1, 1]), tf.ones([1, 1, 1, 1]), { x0Coef: 0.25, xtCoef: 0.5 });
 * if ((await m.data())[0] !== 0.75) throw new Error("0.25 + 0.5");
 * ```
 */
export function posteriorMean(
  x0: tf.Tensor4D,
  xt: tf.Tensor4D,
  c: PosteriorMeanCoefficients<Coefficient>,
): tf.Tensor4D {
  return tf.tidy(() => tf.add(tf.mul(x0, c.x0Coef), tf.mul(xt, c.xtCoef)));
}
