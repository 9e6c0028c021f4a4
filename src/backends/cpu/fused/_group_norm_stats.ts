/**
 * Per-image, per-group mean and reciprocal standard deviation of NHWC data.
 *
 * @module
 */

/** The layout of an NHWC group-norm input. */
export interface _GroupNormDims {
  /** Batch. */
  n: number;
  /** Pixels per image (H * W). */
  hw: number;
  /** Channels. */
  c: number;
  /** Channel groups; divides `c`. */
  groups: number;
}

/** Statistics indexed `[image * groups + group]`. */
export interface _GroupStats {
  /** Mean over the group's H * W * (C / groups) values. */
  mean: Float64Array;
  /** `1 / sqrt(biased variance + eps)`. */
  rstd: Float64Array;
}

/**
 * One pass over `x` with per-channel float64 sums, combined per group afterwards, so the inner
 * loop walks memory in order with no index math.
 */
export function _groupStats(x: Float32Array, d: _GroupNormDims, eps: number): _GroupStats {
  const { n, hw, c, groups } = d;
  const cg = c / groups, count = hw * cg;
  const mean = new Float64Array(n * groups), rstd = new Float64Array(n * groups);
  const shift = new Float64Array(c), sum = new Float64Array(c), sumSq = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    const start = b * hw * c, end = start + hw * c;
    // Sums of x - shift with shift = the channel's first pixel: sum-of-squares minus squared
    // mean loses everything to cancellation when |mean| >> std; shifted sums do not.
    for (let ch = 0; ch < c; ch++) shift[ch] = x[start + ch];
    sum.fill(0);
    sumSq.fill(0);
    for (let i = start; i < end;) {
      for (let ch = 0; ch < c; ch++, i++) {
        const v = x[i] - shift[ch];
        sum[ch] += v;
        sumSq[ch] += v * v;
      }
    }
    for (let g = 0; g < groups; g++) {
      let total = 0;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) total += sum[ch] + hw * shift[ch];
      const m = total / count;
      // sum over pixels of (v + k)^2 with k = shift - mean: sumSq + k (2 sum + hw k).
      let sq = 0;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        const k = shift[ch] - m;
        sq += sumSq[ch] + k * (2 * sum[ch] + hw * k);
      }
      mean[b * groups + g] = m;
      rstd[b * groups + g] = 1 / Math.sqrt(Math.max(sq / count, 0) + eps);
    }
  }
  return { mean, rstd };
}
