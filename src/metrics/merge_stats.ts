/**
 * Statistics of image shards combined into those of all the images, so that FID over a sample
 * set drawn by many processes needs no folder holding every image.
 *
 * @module
 */
import type { ActivationStats } from "./frechet_distance.ts";

/** A mean and unbiased covariance with the count of vectors they come from. */
export interface CountedStats extends ActivationStats {
  /** Vectors (images) behind the statistics. */
  n: number;
}

/**
 * Pools shards' statistics exactly (in float64, up to rounding), as if computed over the union
 * of their vectors by `np.mean(axis=0)` and `np.cov(rowvar=False)` (divided by n - 1):
 *
 *   N = sum n_k,   mu = sum n_k mu_k / N,
 *   sigma = sum [ (n_k - 1) sigma_k + n_k (mu_k - mu)(mu_k - mu)^T ] / (N - 1).
 *
 * A shard of one vector adds no covariance of its own (its sigma is not read).
 *
 * @param parts The shards' statistics, all of one dimension.
 * @returns The pooled statistics, with `n = N`.
 * @throws {RangeError} With no parts, fewer than 2 vectors in all, a count that is not a
 *   positive integer, or differing dimensions.
 *
 * @example Two halves of four points give the statistics of all four
 * ```ts
 * import { mergeActivationStats } from "./merge_stats.ts";
 * // Points 0, 2 and 4, 6 in one dimension: halves with means 1 and 5, variances 2 and 2.
 * const a = { n: 2, mu: Float64Array.of(1), sigma: Float64Array.of(2) };
 * const b = { n: 2, mu: Float64Array.of(5), sigma: Float64Array.of(2) };
 * const all = mergeActivationStats([a, b]);
 * // np.var([0, 2, 4, 6], ddof=1) = 20 / 3
 * if (all.n !== 4 || all.mu[0] !== 3 || Math.abs(all.sigma[0] - 20 / 3) > 1e-15) {
 *   throw new Error(`${all.mu} ${all.sigma}`);
 * }
 * ```
 */
export function mergeActivationStats(parts: readonly CountedStats[]): CountedStats {
  if (parts.length === 0) throw new RangeError("Cannot merge statistics: no parts given");
  const d = parts[0].mu.length;
  let total = 0;
  for (const [k, p] of parts.entries()) {
    if (!Number.isSafeInteger(p.n) || p.n < 1) {
      throw new RangeError(`Cannot merge statistics: part ${k} has n = ${p.n}, not a count >= 1`);
    }
    if (p.mu.length !== d || p.sigma.length !== d * d) {
      throw new RangeError(
        `Cannot merge statistics: part ${k} has dimension ${p.mu.length}, part 0 has ${d}`,
      );
    }
    total += p.n;
  }
  if (total < 2) {
    throw new RangeError(`Cannot merge statistics: a covariance needs 2 vectors, got ${total}`);
  }
  const mu = new Float64Array(d);
  for (const p of parts) for (let i = 0; i < d; i++) mu[i] += p.n * p.mu[i];
  for (let i = 0; i < d; i++) mu[i] /= total;
  const sigma = new Float64Array(d * d);
  const delta = new Float64Array(d);
  for (const p of parts) {
    for (let i = 0; i < d; i++) delta[i] = p.mu[i] - mu[i];
    const within = p.n - 1;
    for (let i = 0; i < d; i++) {
      const row = i * d;
      const di = p.n * delta[i];
      for (let j = 0; j <= i; j++) {
        sigma[row + j] += (within > 0 ? within * p.sigma[row + j] : 0) + di * delta[j];
      }
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      const v = sigma[i * d + j] / (total - 1);
      sigma[i * d + j] = v;
      sigma[j * d + i] = v;
    }
  }
  return { n: total, mu, sigma };
}
