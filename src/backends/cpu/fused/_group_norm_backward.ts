/**
 * Group norm (+ swish) backward over NHWC Float32Arrays.
 *
 * @module
 */
import { type _Alloc, _newFloats } from "../_cpu_family.ts";
import { type _GroupNormDims, type _GroupStats, _groupStats } from "./_group_norm_stats.ts";

/**
 * With the forward's output `y = z sigmoid(z)` at hand, `sigmoid(z) = y / z` costs a division
 * instead of an `exp` (about 10 ns in V8, half the kernel). Near zero, `z` recomputed here and
 * the forward's differ by rounding, which the quotient would magnify: there `exp` is used.
 * Above this bound the quotient's error is under 1e-5 for activations of order one.
 */
const SIGMOID_FROM_OUTPUT_MIN_Z = 0.05;

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
 * `dxh = gamma dz`, the means over the group. Statistics are recomputed from `x`.
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
  const cg = c / groups, count = hw * cg;
  const { mean, rstd } = opts.stats ?? _groupStats(x, d, opts.eps);
  const y = opts.swish ? opts.y : undefined;
  const dx = alloc(x.length);
  const dgamma = new Float64Array(c), dbeta = new Float64Array(c);
  // Per channel of one image: xh = x * r + xo; sums of dz and dz * xh; dx = a dz + bx x + d0.
  const r = new Float64Array(c), xo = new Float64Array(c);
  const sumDz = new Float64Array(c), sumDzXh = new Float64Array(c);
  const a = new Float64Array(c), bx = new Float64Array(c), d0 = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const s = b * groups + Math.floor(ch / cg);
      r[ch] = rstd[s];
      xo[ch] = -mean[s] * rstd[s];
    }
    sumDz.fill(0);
    sumDzXh.fill(0);
    const start = b * hw * c, end = start + hw * c;
    // Pass 1: dz (the gradient at the affine output) parked in dx, so the second pass needs
    // no second exp.
    for (let i = start; i < end;) {
      for (let ch = 0; ch < c; ch++, i++) {
        const xh = x[i] * r[ch] + xo[ch];
        let dz = dy[i];
        if (opts.swish) {
          const z = xh * gamma[ch] + beta[ch];
          const sig = y && Math.abs(z) > SIGMOID_FROM_OUTPUT_MIN_Z
            ? y[i] / z
            : 1 / (1 + Math.exp(-z));
          dz *= sig * (1 + z * (1 - sig));
        }
        dx[i] = dz;
        sumDz[ch] += dz;
        sumDzXh[ch] += dz * xh;
      }
    }
    for (let g = 0; g < groups; g++) {
      let m1 = 0, m2 = 0; // mean(dxh) and mean(dxh * xh) over the group
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        m1 += gamma[ch] * sumDz[ch];
        m2 += gamma[ch] * sumDzXh[ch];
      }
      m1 /= count;
      m2 /= count;
      for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
        // r (gamma dz - m1 - (x r + xo) m2), expanded into per-channel coefficients.
        a[ch] = r[ch] * gamma[ch];
        bx[ch] = -r[ch] * r[ch] * m2;
        d0[ch] = -r[ch] * (m1 + xo[ch] * m2);
        dgamma[ch] += sumDzXh[ch];
        dbeta[ch] += sumDz[ch];
      }
    }
    // Pass 2.
    for (let i = start; i < end;) {
      for (let ch = 0; ch < c; ch++, i++) dx[i] = a[ch] * dx[i] + bx[ch] * x[i] + d0[ch];
    }
  }
  return { dx, dgamma: Float32Array.from(dgamma), dbeta: Float32Array.from(dbeta) };
}
