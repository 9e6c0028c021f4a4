/**
 * Same-shape elementwise ops in WebAssembly SIMD (`elementwise.wat`), four values per
 * instruction, with the JavaScript loops' results bit for bit. Blocks are copied in and out
 * (`_simd_module.ts`). This module stays free of TensorFlow.js, as helper threads load it.
 *
 * @module
 */
import { ELEMENTWISE_WASM } from "./_elementwise_wasm.ts";
import { _BLOCK_VALUES, _SIMD_MIN_VALUES, _simdModule } from "./_simd_module.ts";

type _Op = (a: number, b: number, out: number, count: number) => void;

/** The TF.js ops the module has, by their function's name there. */
const _FUNCTIONS = {
  Add: "add",
  Sub: "sub",
  Multiply: "mul",
  RealDiv: "div",
  Maximum: "max",
  Minimum: "min",
} as const;

/** This thread's instance, or null where WebAssembly SIMD is missing or turned off. */
const _kernels = _simdModule<Record<string, _Op>>(ELEMENTWISE_WASM);

/**
 * `out[i] = a[i] op b[i]` for `i` from `lo` up to the returned index: `lo` where the kernel
 * does not run (no SIMD, turned off, an op it lacks, under `_SIMD_MIN_VALUES` values), else
 * the last multiple of 4 from `lo`.
 *
 * @returns Where the caller's loop takes over.
 */
export function _binarySameSimd(
  op: string,
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  lo: number,
  hi: number,
): number {
  const name = _FUNCTIONS[op as keyof typeof _FUNCTIONS];
  const k = name && hi - lo >= _SIMD_MIN_VALUES ? _kernels() : null;
  if (k === null) return lo;
  const fn = k.fn[name];
  const B = _BLOCK_VALUES, A = 0, BB = 4 * B, OUT = 8 * B;
  k.reserve(12 * B);
  const end = hi - ((hi - lo) % 4);
  for (let s = lo; s < end; s += B) {
    const e = Math.min(s + B, end), count = e - s;
    const mem = k.f32;
    mem.set(a.subarray(s, e), A / 4);
    mem.set(b.subarray(s, e), BB / 4);
    fn(A, BB, OUT, count);
    out.set(mem.subarray(OUT / 4, OUT / 4 + count), s);
  }
  return end;
}
