/**
 * Sum and max over the middle dim of an `[outer, mid, inner]` Float32Array, walking memory
 * in order (channels innermost) instead of transposing the reduced dims to the end first.
 *
 * Sums accumulate in float64 (JavaScript numbers, a Float64Array per row of `inner`): with
 * float32 inputs the accumulated error is at most about `mid * 2^-53` of the sum of
 * magnitudes, under a float32 ulp for any `mid` below 2^29, so the result is the float64 sum
 * rounded once. TF.js's own cpu Sum accumulates in float64 too, in the same order. Where
 * `inner` is a multiple of 4 the SIMD kernel does the same additions four columns at a time.
 *
 * @module
 */
import type { _Block } from "./_axis_block.ts";
import { _withScratch } from "./_scratch.ts";
import { _columnSumsSimd } from "./simd/_reduce_simd.ts";

/** `out[o, i] = sum over m of x[o, m, i] / divisor`, divided in float64 before rounding. */
export function _sumMiddle(
  x: Float32Array,
  { outer, mid, inner }: _Block,
  divisor = 1,
): Float32Array {
  const out = new Float32Array(outer * inner);
  let k = 0;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      for (let m = 0; m < mid; m++) s += x[k++];
      out[o] = s / divisor;
    }
    return out;
  }
  _withScratch((scratch) => {
    const acc = scratch.f64(inner);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      if (_columnSumsSimd(x, k, mid, inner, acc)) {
        k += mid * inner;
      } else {
        for (let m = 0; m < mid; m++) {
          for (let i = 0; i < inner; i++) acc[i] += x[k++];
        }
      }
      for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i] / divisor;
    }
  });
  return out;
}

/** `out[o, i] = max over m of x[o, m, i]`; NaN wins, as in TF.js's cpu Max. */
export function _maxMiddle(x: Float32Array, { outer, mid, inner }: _Block): Float32Array {
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    const row = o * inner;
    let k = o * mid * inner;
    for (let i = 0; i < inner; i++) out[row + i] = x[k++];
    for (let m = 1; m < mid; m++) {
      for (let i = 0; i < inner; i++, k++) {
        const v = x[k];
        if (v > out[row + i] || v !== v) out[row + i] = v;
      }
    }
  }
  return out;
}
