/**
 * Per-image, per-group mean and reciprocal standard deviation of NHWC data.
 *
 * @module
 */
import { _rangeThreads, _runRangeTasks } from "../_range_tasks.ts";
import { _withScratch } from "../_scratch.ts";

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
 * Per-channel float64 sums of each image, split over pixels among the helper threads and
 * combined per group afterwards, so that each inner loop walks memory in order with no index
 * math.
 */
export function _groupStats(x: Float32Array, d: _GroupNormDims, eps: number): _GroupStats {
  const { n, hw, c, groups } = d;
  const cg = c / groups, count = hw * cg, nc = n * c;
  const mean = new Float64Array(n * groups), rstd = new Float64Array(n * groups);
  _withScratch((scratch) => {
    // Sums of x - shift with shift = the channel's first pixel: sum-of-squares minus squared
    // mean loses everything to cancellation when |mean| >> std; shifted sums do not.
    const shift = scratch.f64(nc);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) shift[b * c + ch] = x[b * hw * c + ch];
    }
    const parts = _rangeThreads();
    const sum = scratch.f64(parts * nc), sumSq = scratch.f64(parts * nc);
    _runRangeTasks([{
      kernel: "channelSums",
      arrays: [x, shift, sum, sumSq],
      params: [n, hw, c],
      size: hw,
      width: nc,
    }]);
    _foldParts(sum, parts, nc);
    _foldParts(sumSq, parts, nc);
    for (let b = 0; b < n; b++) {
      const o = b * c;
      for (let g = 0; g < groups; g++) {
        let total = 0;
        for (let ch = g * cg; ch < (g + 1) * cg; ch++) total += sum[o + ch] + hw * shift[o + ch];
        const m = total / count;
        // sum over pixels of (v + k)^2 with k = shift - mean: sumSq + k (2 sum + hw k).
        let sq = 0;
        for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
          const k = shift[o + ch] - m;
          sq += sumSq[o + ch] + k * (2 * sum[o + ch] + hw * k);
        }
        mean[b * groups + g] = m;
        rstd[b * groups + g] = 1 / Math.sqrt(Math.max(sq / count, 0) + eps);
      }
    }
  });
  return { mean, rstd };
}

/** Adds the partial sums of parts 1 onwards, `size` each, into part 0, in part order. */
export function _foldParts(sums: Float64Array, parts: number, size: number): void {
  for (let p = 1; p < parts; p++) {
    for (let i = 0, o = p * size; i < size; i++) sums[i] += sums[o + i];
  }
}
