/**
 * Column sums in WebAssembly SIMD (`reduce.wat`) for the cpu family's Sum over leading axes:
 * the float64 additions of `../_reduce_block.ts` in the same order, four columns at a time, so
 * the result is the same bits. Blocks of rows are copied in (`_simd_module.ts`).
 *
 * @module
 */
import { REDUCE_WASM } from "./_reduce_wasm.ts";
import { _BLOCK_VALUES, _simdModule } from "./_simd_module.ts";

interface _Exports {
  columnSums(x: number, acc: number, rows: number, cols: number): void;
}

/** This thread's instance, or null where WebAssembly SIMD is missing or turned off. */
const _kernels = _simdModule<_Exports>(REDUCE_WASM);

/**
 * Adds the sums over rows of the `rows x cols` matrix at `x[from...]` into `acc` (float64,
 * `cols` entries), in row order.
 *
 * @returns Whether it ran: not where SIMD is missing or off, or `cols` is not a multiple of 4.
 */
export function _columnSumsSimd(
  x: Float32Array,
  from: number,
  rows: number,
  cols: number,
  acc: Float64Array,
): boolean {
  const k = cols % 4 === 0 ? _kernels() : null;
  if (k === null) return false;
  const ACC = 0, X = 8 * cols, block = Math.max(1, Math.floor(_BLOCK_VALUES / cols));
  k.reserve(X + block * cols * 4);
  k.f64.set(acc, ACC / 8);
  for (let r = 0; r < rows; r += block) {
    const n = Math.min(block, rows - r), start = from + r * cols;
    k.f32.set(x.subarray(start, start + n * cols), X / 4);
    k.fn.columnSums(X, ACC, n, cols);
  }
  acc.set(k.f64.subarray(ACC / 8, ACC / 8 + cols));
  return true;
}
