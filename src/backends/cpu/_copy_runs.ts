/**
 * Concat, split and slice over Float32Arrays as copies of contiguous runs: for each of the
 * `outer` rows before the axis, one run per part, never one element at a time.
 *
 * @module
 */
import { type _Alloc, _newFloats } from "./_cpu_family.ts";

/** Below this many elements a plain loop beats `subarray` + `set`. */
const SET_MIN = 64;

/** Copies `n` elements from `src[from..]` to `dst[to..]`. */
export function _copyRun(
  src: Float32Array,
  from: number,
  dst: Float32Array,
  to: number,
  n: number,
): void {
  if (n >= SET_MIN) {
    dst.set(src.subarray(from, from + n), to);
  } else {
    for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
  }
}

/**
 * Concatenates parts that are each `[outer, widths[i]]` along their second dim.
 *
 * @param widths Each part's row: its size along the axis times the size of the dims after it.
 */
export function _concatRows(
  parts: readonly Float32Array[],
  widths: readonly number[],
  outer: number,
  alloc: _Alloc = _newFloats,
): Float32Array {
  const row = widths.reduce((p, w) => p + w, 0);
  const out = alloc(outer * row);
  for (let o = 0; o < outer; o++) {
    let to = o * row;
    for (let i = 0; i < parts.length; i++) {
      _copyRun(parts[i], o * widths[i], out, to, widths[i]);
      to += widths[i];
    }
  }
  return out;
}

/** Splits `[outer, sum(widths)]` along its second dim into parts `[outer, widths[i]]`. */
export function _splitRows(
  x: Float32Array,
  widths: readonly number[],
  outer: number,
  alloc: _Alloc = _newFloats,
): Float32Array[] {
  const row = widths.reduce((p, w) => p + w, 0);
  const parts = widths.map((w) => alloc(outer * w));
  for (let o = 0; o < outer; o++) {
    let from = o * row;
    for (let i = 0; i < parts.length; i++) {
      _copyRun(x, from, parts[i], o * widths[i], widths[i]);
      from += widths[i];
    }
  }
  return parts;
}

/**
 * The block of `x` (row-major, `shape`) that starts at `begin` and spans `size`, copied one
 * run at a time: a run covers the innermost dim the slice cuts and every full dim after it.
 */
export function _sliceRuns(
  x: Float32Array,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  alloc: _Alloc = _newFloats,
): Float32Array {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  for (let j = rank - 1, s = 1; j >= 0; s *= shape[j], j--) strides[j] = s;
  let k = rank - 1;
  while (k > 0 && size[k] === shape[k]) k--;
  const run = size[k] * strides[k];
  const out = alloc(size.reduce((p, d) => p * d, 1));
  const at = new Array<number>(k).fill(0); // position in the dims before k
  let from = 0;
  for (let j = 0; j <= k; j++) from += begin[j] * strides[j];
  for (let to = 0; to < out.length; to += run) {
    _copyRun(x, from, out, to, run);
    for (let j = k - 1; j >= 0; j--) {
      from += strides[j];
      if (++at[j] < size[j]) break;
      at[j] = 0;
      from -= size[j] * strides[j];
    }
  }
  return out;
}
