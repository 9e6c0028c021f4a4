/**
 * Group norm (+ swish) backward over NHWC Float32Arrays.
 *
 * @module
 */
import { type _Alloc, _newFloats } from "../_cpu_family.ts";
import {
  _foldParts,
  type _GroupNormDims,
  type _GroupStats,
  _groupStats,
} from "./_group_norm_stats.ts";
import { _rangeThreads, _runRangeTasks } from "../_range_tasks.ts";
import { _withScratch } from "../_scratch.ts";

/** Gradients of a group norm with respect to its three inputs. */
export interface _GroupNormGrads {
  /** Same shape as x. */
  dx: Float32Array;
  /** One per channel. */
  dgamma: Float32Array;
  /** One per channel. */
  dbeta: Float32Array;
}

/**
 * Backward through the optional swish, then the standard group-norm backward
 * `dx = rstd (dxh - mean(dxh) - xh mean(dxh xh))` with `xh` the normalised input and
 * `dxh = gamma dz`, the means over the group. Statistics are recomputed from `x` unless
 * given. Both passes over the activations are split over pixels among the helper threads.
 */
export function _groupNormBackward(
  dy: Float32Array,
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  d: _GroupNormDims,
  opts: { eps: number; swish: boolean; y?: Float32Array; stats?: _GroupStats },
  alloc: _Alloc = _newFloats,
): _GroupNormGrads {
  const { n, hw, c, groups } = d;
  const cg = c / groups, count = hw * cg, nc = n * c;
  const { mean, rstd } = opts.stats ?? _groupStats(x, d, opts.eps);
  return _withScratch((scratch) => {
    // Per image and channel: xh = (x - mu) r; sums of dz and dz xh; dx = a dz + bx (x - mu) + d1.
    const r = scratch.f64(nc), mu = scratch.f64(nc);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        const s = b * groups + Math.floor(ch / cg);
        r[b * c + ch] = rstd[s];
        mu[b * c + ch] = mean[s];
      }
    }
    const dx = alloc(x.length);
    const parts = _rangeThreads();
    const sumDz = scratch.f64(parts * nc), sumDzXh = scratch.f64(parts * nc);
    // The forward's output, when the gradient saved it, spares an exp per element.
    const y = opts.swish ? opts.y : undefined;
    const dims = [n, hw, c];
    _runRangeTasks([{
      kernel: "groupNormGradSums",
      arrays: [dy, x, gamma, beta, y ?? x, r, mu, dx, sumDz, sumDzXh],
      params: [...dims, opts.swish ? 1 : 0, y ? 1 : 0],
      size: hw,
      width: nc,
    }]);
    _foldParts(sumDz, parts, nc);
    _foldParts(sumDzXh, parts, nc);
    const a = scratch.f64(nc), bx = scratch.f64(nc), d1 = scratch.f64(nc);
    const dgamma = new Float64Array(c), dbeta = new Float64Array(c);
    for (let b = 0; b < n; b++) {
      for (let g = 0; g < groups; g++) {
        let m1 = 0, m2 = 0; // mean(dxh) and mean(dxh * xh) over the group
        for (let ch = g * cg, i = b * c + ch; ch < (g + 1) * cg; ch++, i++) {
          m1 += gamma[ch] * sumDz[i];
          m2 += gamma[ch] * sumDzXh[i];
        }
        m1 /= count;
        m2 /= count;
        for (let ch = g * cg, i = b * c + ch; ch < (g + 1) * cg; ch++, i++) {
          // r (gamma dz - m1 - (x - mu) r m2), expanded into per-channel coefficients.
          a[i] = r[i] * gamma[ch];
          bx[i] = -r[i] * r[i] * m2;
          d1[i] = -r[i] * m1;
          dgamma[ch] += sumDzXh[i];
          dbeta[ch] += sumDz[i];
        }
      }
    }
    _runRangeTasks([{
      kernel: "groupNormGradApply",
      arrays: [x, dx, a, bx, mu, d1],
      params: dims,
      size: hw,
      width: nc,
    }]);
    return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
  });
}
