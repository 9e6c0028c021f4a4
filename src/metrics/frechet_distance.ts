/**
 * The Frechet distance between two Gaussians, as FID defines it over Inception features.
 *
 * @module
 */
import { traceSqrtProduct } from "./trace_sqrt_product.ts";

/**
 * The mean and covariance of a set of feature vectors, in float64: what pytorch-fid keeps in
 * its `.npz` files as `mu` and `sigma`.
 */
export interface ActivationStats {
  /** The mean, length d. */
  mu: Float64Array;
  /** The covariance (divided by count - 1, as `np.cov`), d x d row-major. */
  sigma: Float64Array;
}

/**
 * The Frechet distance between N(mu1, S1) and N(mu2, S2):
 * ||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2), all in float64. With Inception pool3
 * statistics this is FID (Heusel et al. 2017), as pytorch-fid computes it; the square-root term
 * is {@linkcode traceSqrtProduct}, which says how rounding and singular covariances are handled.
 * A 2048 x 2048 pair takes about 8 s of one core.
 *
 * @param a The statistics of one set.
 * @param b The statistics of the other.
 * @returns The distance, >= 0 up to rounding.
 * @throws {RangeError} When the dimensions differ, a covariance is not square, symmetric or
 *   positive semi-definite, or a value is not finite.
 *
 * @example Shifted means with equal covariances: the squared shift
 * ```ts
 * import { frechetDistance } from "./frechet_distance.ts";
 * const sigma = new Float64Array([2, 0.5, 0.5, 1]);
 * const d = frechetDistance(
 *   { mu: new Float64Array([0, 0]), sigma },
 *   { mu: new Float64Array([3, 4]), sigma },
 * );
 * if (Math.abs(d - 25) > 1e-9) throw new Error(String(d));
 * ```
 */
export function frechetDistance(a: ActivationStats, b: ActivationStats): number {
  const n = a.mu.length;
  if (b.mu.length !== n) {
    throw new RangeError(
      `Cannot compute the Frechet distance: the means have ${n} and ${b.mu.length} dimensions`,
    );
  }
  for (const [name, s] of [["first", a], ["second", b]] as const) {
    if (s.sigma.length !== n * n) {
      throw new RangeError(
        `Cannot compute the Frechet distance: the ${name} covariance has ${s.sigma.length} entries, expected ${n} x ${n}`,
      );
    }
    checkSymmetric(s.sigma, n, name);
  }
  let diff = 0;
  for (let i = 0; i < n; i++) {
    const d = a.mu[i] - b.mu[i];
    diff += d * d;
  }
  if (!Number.isFinite(diff)) {
    throw new RangeError("Cannot compute the Frechet distance: a mean holds a non-finite value");
  }
  let tr1 = 0, tr2 = 0;
  for (let i = 0; i < n; i++) {
    tr1 += a.sigma[i * n + i];
    tr2 += b.sigma[i * n + i];
  }
  const { trace } = traceSqrtProduct(a.sigma, b.sigma, n);
  return diff + tr1 + tr2 - 2 * trace;
}

function checkSymmetric(s: Float64Array, n: number, name: string): void {
  let scale = 0;
  for (let i = 0; i < s.length; i++) scale = Math.max(scale, Math.abs(s[i]));
  // float32 covariances written by other tools are symmetric to their rounding, 2^-24.
  const tol = 1e-6 * scale;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const gap = Math.abs(s[i * n + j] - s[j * n + i]);
      if (gap > tol) {
        throw new RangeError(
          `Cannot compute the Frechet distance: the ${name} covariance is not symmetric ` +
            `(entries (${i}, ${j}) and (${j}, ${i}) differ by ${gap.toExponential(2)})`,
        );
      }
    }
  }
}
