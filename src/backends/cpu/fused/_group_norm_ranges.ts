/**
 * The passes of group norm over a range of pixels of every image, NHWC: the pieces that
 * helper threads share (`../_range_kernels.ts`). Each writes only its pixels, or its own slot
 * of partial sums, so parts of one call may run at once.
 *
 * @module
 */
import { _channelSumsSimd, _gradApplySimd, _gradSumsSimd } from "../simd/_group_norm_simd.ts";
import type {
  _GroupNormGradCoefficients,
  _GroupNormGradInputs,
  _PixelDims,
} from "./_group_norm_passes.ts";

/**
 * With the forward's output `y = z sigmoid(z)` at hand, `sigmoid(z) = y / z` costs a division
 * instead of an `exp` (about 10 ns in V8, half the kernel). Near zero, `z` recomputed here and
 * the forward's differ by rounding, which the quotient would magnify: there `exp` is used.
 * Above this bound the quotient's error is under 1e-5 for activations of order one.
 */
const SIGMOID_FROM_OUTPUT_MIN_Z = 0.05;

/**
 * Per image and channel, the sums of `x - shift` and of its square over pixels `lo` to
 * `hi - 1`, added into `sum` and `sumSq` at `[part * n * c + image * c + channel]`.
 * `shift` (`[image * c + channel]`) keeps the sums free of cancellation when the mean is large.
 * Runs the SIMD kernel where it applies.
 */
export function _channelSumsRange(
  x: Float32Array,
  shift: Float64Array,
  sum: Float64Array,
  sumSq: Float64Array,
  d: _PixelDims,
  lo: number,
  hi: number,
  part: number,
): void {
  if (_channelSumsSimd(x, shift, sum, sumSq, d, lo, hi, part)) return;
  const { n, hw, c } = d;
  for (let b = 0; b < n; b++) {
    const o = part * n * c + b * c, so = b * c;
    for (let i = (b * hw + lo) * c, end = (b * hw + hi) * c; i < end;) {
      for (let ch = 0; ch < c; ch++, i++) {
        const v = x[i] - shift[so + ch];
        sum[o + ch] += v;
        sumSq[o + ch] += v * v;
      }
    }
  }
}

/**
 * First pass of the backward over pixels `lo` to `hi - 1`: the gradient at the affine output,
 * `dz`, parked in `dx` (so the second pass needs no second `exp`), and per image and channel
 * the sums of `dz` and of `dz xh` (`xh = (x - mu) r`, the normalised input, with `r` and `mu`
 * at `[image * c + channel]`) added into `sumDz` and `sumDzXh` at
 * `[part * n * c + image * c + channel]`. Runs the SIMD kernel where it applies.
 */
export function _groupNormGradSumsRange(
  inp: _GroupNormGradInputs,
  r: Float64Array,
  mu: Float64Array,
  dx: Float32Array,
  sumDz: Float64Array,
  sumDzXh: Float64Array,
  d: _PixelDims,
  lo: number,
  hi: number,
  part: number,
): void {
  if (_gradSumsSimd(inp, r, mu, dx, sumDz, sumDzXh, d, lo, hi, part)) return;
  const { n, hw, c } = d;
  const { dy, x, gamma, beta, swish } = inp;
  const y = swish ? inp.y : undefined;
  for (let b = 0; b < n; b++) {
    const o = part * n * c + b * c, so = b * c;
    for (let i = (b * hw + lo) * c, end = (b * hw + hi) * c; i < end;) {
      for (let ch = 0; ch < c; ch++, i++) {
        const xh = (x[i] - mu[so + ch]) * r[so + ch];
        let dz = dy[i];
        if (swish) {
          const z = xh * gamma[ch] + beta[ch];
          const sig = y && Math.abs(z) > SIGMOID_FROM_OUTPUT_MIN_Z
            ? y[i] / z
            : 1 / (1 + Math.exp(-z));
          dz *= sig * (1 + z * (1 - sig));
        }
        dx[i] = dz;
        sumDz[o + ch] += dz;
        sumDzXh[o + ch] += dz * xh;
      }
    }
  }
}

/**
 * Second pass over pixels `lo` to `hi - 1`: `dx = a dz + bx (x - mu) + d1` with per image and
 * channel coefficients, `dz` read from `dx`. Subtracting the mean before scaling keeps the
 * terms small where `|mean| >> std`. Runs the SIMD kernel where it applies.
 */
export function _groupNormGradApplyRange(
  x: Float32Array,
  dx: Float32Array,
  coef: _GroupNormGradCoefficients,
  d: _PixelDims,
  lo: number,
  hi: number,
): void {
  if (_gradApplySimd(x, dx, coef, d, lo, hi)) return;
  const { n, hw, c } = d;
  const { a, bx, mu, d1 } = coef;
  for (let b = 0; b < n; b++) {
    const so = b * c;
    for (let i = (b * hw + lo) * c, end = (b * hw + hi) * c; i < end;) {
      for (let ch = 0; ch < c; ch++, i++) {
        dx[i] = a[so + ch] * dx[i] + bx[so + ch] * (x[i] - mu[so + ch]) + d1[so + ch];
      }
    }
  }
}
