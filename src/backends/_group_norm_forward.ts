/**
 * Group norm (+ swish) forward over NHWC Float32Arrays.
 *
 * @module
 */
import { type _GroupNormDims, _groupStats } from "./_group_norm_stats.ts";

/** `y = (x - mean) * rstd * gamma + beta`, then `y * sigmoid(y)` when `swish`. */
export function _groupNormForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  d: _GroupNormDims,
  opts: { eps: number; swish: boolean },
): Float32Array {
  const { n, hw, c, groups } = d;
  const cg = c / groups;
  const { mean, rstd } = _groupStats(x, d, opts.eps);
  const y = new Float32Array(x.length);
  // The whole transform folds into one per-channel scale and offset per image.
  const scale = new Float64Array(c), offset = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const s = b * groups + Math.floor(ch / cg);
      scale[ch] = rstd[s] * gamma[ch];
      offset[ch] = beta[ch] - mean[s] * scale[ch];
    }
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
