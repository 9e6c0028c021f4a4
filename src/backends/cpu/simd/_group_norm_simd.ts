/**
 * Group norm's passes over the activations in WebAssembly SIMD (`group_norm.wat`): four
 * channels per instruction instead of one, at 0.3-1 ns per value where the JavaScript loops of
 * `../fused/_group_norm_ranges.ts` take 1.2-6 ns.
 *
 * Each call copies blocks of pixels in and results out (`_simd_module.ts`).
 *
 * Each function returns `false`, having done nothing, where it does not apply: no WebAssembly
 * SIMD in this runtime, `DDPM_SIMD=0`, a channel count not divisible by 4, or swish without the
 * forward's output. The caller then runs its JavaScript loop. This module stays free of
 * TensorFlow.js, as helper threads load it.
 *
 * @module
 */
import type {
  _GroupNormGradCoefficients,
  _GroupNormGradInputs,
  _PixelDims,
} from "../fused/_group_norm_passes.ts";
import { GROUP_NORM_WASM } from "./_group_norm_wasm.ts";
import { _BLOCK_VALUES, _simdModule } from "./_simd_module.ts";

interface _Exports {
  channelSums(
    x: number,
    shift: number,
    sum: number,
    sumSq: number,
    pixels: number,
    c: number,
  ): void;
  gradSums(
    x: number,
    dy: number,
    y: number,
    dz: number,
    r: number,
    mu: number,
    muLo: number,
    gamma: number,
    beta: number,
    sumDz: number,
    sumDzXh: number,
    pixels: number,
    c: number,
    swish: number,
  ): void;
  gradApply(
    x: number,
    dz: number,
    a: number,
    bx: number,
    mu: number,
    muLo: number,
    d1: number,
    pixels: number,
    c: number,
  ): void;
}

/** This thread's instance, or null where WebAssembly SIMD is missing or turned off. */
const _kernels = _simdModule<_Exports>(GROUP_NORM_WASM);

/** Whether the SIMD kernels run on this thread for `c` channels. */
export function _simdGroupNormAvailable(c = 4): boolean {
  return c % 4 === 0 && _kernels() !== null;
}

/** Writes `mu[from..from + c)` as float32 pairs: `hi = fround(mu)` and `lo = mu - hi`. */
function _splitMean(
  f32: Float32Array,
  mu: Float64Array,
  from: number,
  c: number,
  hi: number,
  lo: number,
): void {
  for (let ch = 0; ch < c; ch++) {
    const m = mu[from + ch], h = Math.fround(m);
    f32[hi + ch] = h;
    f32[lo + ch] = m - h;
  }
}

/** Pixels per block for `c` channels. */
function _blockPixels(c: number): number {
  return Math.max(1, Math.floor(_BLOCK_VALUES / c));
}

/**
 * `_channelSumsRange` of `_group_norm_ranges.ts`: per image and channel, the sums of
 * `x - shift` and its square over pixels `lo` to `hi - 1`, added at
 * `[part * n * c + image * c + channel]`.
 *
 * @returns Whether it ran.
 */
export function _channelSumsSimd(
  x: Float32Array,
  shift: Float64Array,
  sum: Float64Array,
  sumSq: Float64Array,
  d: _PixelDims,
  lo: number,
  hi: number,
  part: number,
): boolean {
  const { n, hw, c } = d;
  const k = c % 4 === 0 ? _kernels() : null;
  if (k === null) return false;
  // Bytes: shift, sum, sumSq as float64 per channel, then a block of x.
  const SHIFT = 0, SUM = 8 * c, SQ = 16 * c, X = 24 * c;
  const block = _blockPixels(c);
  k.reserve(X + block * c * 4);
  for (let b = 0; b < n; b++) {
    const so = b * c, o = part * n * c + so;
    k.f64.set(shift.subarray(so, so + c), SHIFT / 8);
    k.f64.fill(0, SUM / 8, SQ / 8 + c);
    for (let p = lo; p < hi; p += block) {
      const pixels = Math.min(block, hi - p), start = (b * hw + p) * c;
      k.f32.set(x.subarray(start, start + pixels * c), X / 4);
      k.fn.channelSums(X, SHIFT, SUM, SQ, pixels, c);
    }
    const f64 = k.f64;
    for (let ch = 0; ch < c; ch++) {
      sum[o + ch] += f64[SUM / 8 + ch];
      sumSq[o + ch] += f64[SQ / 8 + ch];
    }
  }
  return true;
}

/**
 * `_groupNormGradSumsRange` of `_group_norm_ranges.ts`: `dz` into `dx` over pixels `lo` to
 * `hi - 1`, and the sums of `dz` and `dz xh` added at `[part * n * c + image * c + channel]`.
 * Runs only with the forward's output where the forward applied swish.
 *
 * @returns Whether it ran.
 */
export function _gradSumsSimd(
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
): boolean {
  const { n, hw, c } = d;
  const { dy, x, y, swish } = inp;
  const k = c % 4 === 0 && (y || !swish) ? _kernels() : null;
  if (k === null) return false;
  // Bytes: r, mu, muLo, gamma, beta as float32 per channel; the two sums as float64 per
  // channel; then a block each of x, dy, y and dz.
  const R = 0, MU = 4 * c, MU_LO = 8 * c, GAMMA = 12 * c, BETA = 16 * c;
  const SDZ = 20 * c, SDZXH = 28 * c;
  const block = _blockPixels(c), blockBytes = block * c * 4;
  const X = 36 * c, DY = X + blockBytes, Y = DY + blockBytes, DZ = Y + blockBytes;
  k.reserve(DZ + blockBytes);
  k.f32.set(inp.gamma, GAMMA / 4);
  k.f32.set(inp.beta, BETA / 4);
  for (let b = 0; b < n; b++) {
    const so = b * c, o = part * n * c + so;
    k.f32.set(r.subarray(so, so + c), R / 4);
    _splitMean(k.f32, mu, so, c, MU / 4, MU_LO / 4);
    k.f64.fill(0, SDZ / 8, SDZXH / 8 + c);
    for (let p = lo; p < hi; p += block) {
      const pixels = Math.min(block, hi - p), start = (b * hw + p) * c, end = start + pixels * c;
      const f32 = k.f32;
      f32.set(x.subarray(start, end), X / 4);
      f32.set(dy.subarray(start, end), DY / 4);
      if (swish) f32.set(y!.subarray(start, end), Y / 4);
      const swishFlag = swish ? 1 : 0;
      k.fn.gradSums(X, DY, Y, DZ, R, MU, MU_LO, GAMMA, BETA, SDZ, SDZXH, pixels, c, swishFlag);
      dx.set(f32.subarray(DZ / 4, DZ / 4 + pixels * c), start);
    }
    const f64 = k.f64;
    for (let ch = 0; ch < c; ch++) {
      sumDz[o + ch] += f64[SDZ / 8 + ch];
      sumDzXh[o + ch] += f64[SDZXH / 8 + ch];
    }
  }
  return true;
}

/**
 * `_groupNormGradApplyRange` of `_group_norm_ranges.ts`: `dx = a dz + bx (x - mu) + d1` in
 * place over pixels `lo` to `hi - 1`, the coefficients per image and channel.
 *
 * @returns Whether it ran.
 */
export function _gradApplySimd(
  x: Float32Array,
  dx: Float32Array,
  coef: _GroupNormGradCoefficients,
  d: _PixelDims,
  lo: number,
  hi: number,
): boolean {
  const { n, hw, c } = d;
  const k = c % 4 === 0 ? _kernels() : null;
  if (k === null) return false;
  const A = 0, BX = 4 * c, MU = 8 * c, MU_LO = 12 * c, D1 = 16 * c;
  const block = _blockPixels(c), X = 20 * c, DZ = X + block * c * 4;
  k.reserve(DZ + block * c * 4);
  for (let b = 0; b < n; b++) {
    const so = b * c;
    k.f32.set(coef.a.subarray(so, so + c), A / 4);
    k.f32.set(coef.bx.subarray(so, so + c), BX / 4);
    _splitMean(k.f32, coef.mu, so, c, MU / 4, MU_LO / 4);
    k.f32.set(coef.d1.subarray(so, so + c), D1 / 4);
    for (let p = lo; p < hi; p += block) {
      const pixels = Math.min(block, hi - p), start = (b * hw + p) * c, end = start + pixels * c;
      const f32 = k.f32;
      f32.set(x.subarray(start, end), X / 4);
      f32.set(dx.subarray(start, end), DZ / 4);
      k.fn.gradApply(X, DZ, A, BX, MU, MU_LO, D1, pixels, c);
      dx.set(f32.subarray(DZ / 4, DZ / 4 + pixels * c), start);
    }
  }
  return true;
}
