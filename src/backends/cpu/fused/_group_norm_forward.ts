/**
 * Group norm (+ swish) forward over NHWC Float32Arrays.
 *
 * @module
 */
import { type _Alloc, _newFloats } from "../_cpu_family.ts";
import { type _GroupNormDims, type _GroupStats, _groupStats } from "./_group_norm_stats.ts";

/**
 * Folds image `b`'s normalisation and affine map into one scale and offset per channel:
 * `(x - mean) * rstd * gamma + beta = x * scale + offset`.
 *
 * @param stats Per-(image, group) mean and reciprocal standard deviation.
 * @param gamma Per-channel scale.
 * @param beta Per-channel shift.
 * @param d Dimensions.
 * @param b The image.
 * @param scale Written: `c` values.
 * @param offset Written: `c` values.
 */
export function _foldGroupNorm(
  stats: _GroupStats,
  gamma: Float32Array,
  beta: Float32Array,
  d: _GroupNormDims,
  b: number,
  scale: Float32Array | Float64Array,
  offset: Float32Array | Float64Array,
): void {
  const { c, groups } = d, cg = c / groups;
  for (let ch = 0; ch < c; ch++) {
    const s = b * groups + Math.floor(ch / cg);
    const k = stats.rstd[s] * gamma[ch];
    scale[ch] = k;
    offset[ch] = beta[ch] - stats.mean[s] * k;
  }
}

/** `y = (x - mean) * rstd * gamma + beta`, then `y * sigmoid(y)` when `swish`. */
export function _groupNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  d: _GroupNormDims,
  opts: { eps: number; swish: boolean; stats?: _GroupStats },
  alloc: _Alloc = _newFloats,
): Float32Array {
  const { n, hw, c } = d;
  const { mean, rstd } = opts.stats ?? _groupStats(x, d, opts.eps);
  const y = alloc(x.length);
  // The whole transform folds into one per-channel scale and offset per image.
  const scale = new Float64Array(c), offset = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    _foldGroupNorm({ mean, rstd }, gamma, beta, d, b, scale, offset);
    const start = b * hw * c, end = start + hw * c;
    // Two loops so the swish test is not repeated per element.
    if (opts.swish) {
      for (let i = start; i < end;) {
        for (let ch = 0; ch < c; ch++, i++) {
          const z = x[i] * scale[ch] + offset[ch];
          y[i] = z / (1 + Math.exp(-z));
        }
      }
    } else {
      for (let i = start; i < end;) {
        for (let ch = 0; ch < c; ch++, i++) y[i] = x[i] * scale[ch] + offset[ch];
      }
    }
  }
  return y;
}
