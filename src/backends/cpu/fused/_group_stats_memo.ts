/**
 * Group-norm statistics remembered from the forward kernel for the backward kernel.
 *
 * The backward pass needs the mean and deviation of each group of its input, which the
 * forward pass computed from the very same array: one pass over the activations saved.
 * Keys are the tensors' value arrays, which a cpu-family backend never changes while the
 * tensor lives (a recycled buffer comes back as a new array object), and entries go with them.
 * The one exception, the optimiser's kernels writing a weight in place, calls
 * {@linkcode _forgetGroupStats}.
 *
 * @module
 */
import { type _GroupNormDims, type _GroupStats, _groupStats } from "./_group_norm_stats.ts";

interface Entry extends _GroupStats {
  key: string;
}

const memo = new WeakMap<Float32Array, Entry>();

/**
 * The statistics of a tensor's values `x`: remembered from an earlier call with the same
 * array and settings, else computed and remembered.
 *
 * @param x A tensor's values (never mutated while it is a key).
 * @param d Layout.
 * @param eps Variance epsilon.
 * @returns The statistics.
 */
export function _groupStatsOfTensor(x: Float32Array, d: _GroupNormDims, eps: number): _GroupStats {
  const key = `${d.n},${d.hw},${d.c},${d.groups},${eps}`;
  const hit = memo.get(x);
  if (hit?.key === key) return hit;
  const stats = _groupStats(x, d, eps);
  memo.set(x, { ...stats, key });
  return stats;
}

/**
 * Forgets the statistics of `x`, whose values are about to change in place.
 *
 * @param x A tensor's values.
 */
export function _forgetGroupStats(x: Float32Array): void {
  memo.delete(x);
}
