/**
 * The scalar pieces of the paper's variational bound (eq. 5) as plain float64 functions: the KL
 * divergence between diagonal Gaussians, the discretized Gaussian decoder of section 3.3 and the
 * conversion from nats to bits per dimension. {@linkcode evaluateNll} computes the same
 * formulas on tensors; these are the host-side references it is tested against.
 *
 * @module
 */

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Probabilities below this are floored before taking logs, as in the reference code. */
export const LOG_PROB_FLOOR = 1e-12;

/**
 * KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))) of one dimension, in nats.
 *
 * @param mean1 Mean of the first Gaussian.
 * @param logvar1 Log-variance of the first Gaussian.
 * @param mean2 Mean of the second Gaussian.
 * @param logvar2 Log-variance of the second Gaussian.
 * @returns The divergence in nats, >= 0.
 *
 * @example
 * ```ts
 * import { normalKl } from "@x/ddpm/diffusion";
 * // Shifting a unit Gaussian by 1 costs 1/2 nat.
 * if (Math.abs(normalKl(1, 0, 0, 0) - 0.5) > 1e-15) throw new Error("wrong KL");
 * ```
 */
export function normalKl(mean1: number, logvar1: number, mean2: number, logvar2: number): number {
  const d = mean1 - mean2;
  return 0.5 * (-1 + logvar2 - logvar1 + Math.exp(logvar1 - logvar2) + d * d * Math.exp(-logvar2));
}

/**
 * The tanh approximation of the standard normal CDF that the reference code uses:
 * 0.5 (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). Its error is below 2e-4 everywhere.
 *
 * @param x The point.
 * @returns An approximation of P(Z <= x) for Z ~ N(0, 1).
 *
 * @example
 * ```ts
 * import { approxStandardNormalCdf } from "@x/ddpm/diffusion";
 * if (approxStandardNormalCdf(0) !== 0.5) throw new Error("not symmetric");
 * if (Math.abs(approxStandardNormalCdf(1.96) - 0.975) > 1e-3) throw new Error("inaccurate");
 * ```
 */
export function approxStandardNormalCdf(x: number): number {
  return 0.5 * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/**
 * The log-probability, under the discretized Gaussian decoder of the paper's section 3.3, of
 * one pixel value: the Gaussian N(mean, exp(logScale)^2) integrated over the pixel's bin. The
 * 256 values of an 8-bit channel, scaled to [-1, 1], own bins of width 2/255 centred on them;
 * the bins of -1 and 1 extend to -infinity and +infinity so that the 256 probabilities sum to 1.
 * Probabilities are floored at {@linkcode LOG_PROB_FLOOR} before the log, as the reference does.
 *
 * @param x The pixel value, one of the 256 levels (v / 127.5 - 1 for v in 0..255).
 * @param mean Mean of the Gaussian.
 * @param logScale Log of its standard deviation (half the log-variance).
 * @returns The log-probability in nats, <= 0.
 *
 * @example
 * ```ts
 * import { discretizedGaussianLogLikelihood } from "@x/ddpm/diffusion";
 * // A wide Gaussian centred on 0 puts half its mass in the bins of 1 (v = 255) and above 0.
 * let mass = 0;
 * for (let v = 128; v < 256; v++) {
 *   mass += Math.exp(discretizedGaussianLogLikelihood(v / 127.5 - 1, 0, 0));
 * }
 * if (Math.abs(mass - 0.5) > 1e-12) throw new Error(`mass ${mass}`);
 * ```
 */
export function discretizedGaussianLogLikelihood(
  x: number,
  mean: number,
  logScale: number,
): number {
  const invStd = Math.exp(-logScale);
  const cdfPlus = approxStandardNormalCdf(invStd * (x - mean + 1 / 255));
  const cdfMin = approxStandardNormalCdf(invStd * (x - mean - 1 / 255));
  // The reference tells the edge bins apart with a 0.999 threshold rather than exact equality.
  const p = x < -0.999 ? cdfPlus : x > 0.999 ? 1 - cdfMin : cdfPlus - cdfMin;
  return Math.log(Math.max(p, LOG_PROB_FLOOR));
}

/**
 * Converts a negative log-likelihood in nats to bits per dimension.
 *
 * @param nats The value in nats (of the whole image, or already per dimension).
 * @param numDims How many dimensions it covers (H * W * C for a whole image). Default 1.
 * @returns nats / (numDims * ln 2).
 *
 * @example
 * ```ts
 * import { natsToBitsPerDim } from "@x/ddpm/diffusion";
 * if (natsToBitsPerDim(Math.LN2 * 3072, 3072) !== 1) throw new Error("wrong conversion");
 * ```
 */
export function natsToBitsPerDim(nats: number, numDims = 1): number {
  if (!Number.isInteger(numDims) || numDims < 1) {
    throw new RangeError(`numDims must be an integer >= 1: got ${numDims}`);
  }
  return nats / (numDims * Math.LN2);
}
