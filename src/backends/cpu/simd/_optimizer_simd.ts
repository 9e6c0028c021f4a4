/**
 * Adam and the EMA in WebAssembly SIMD (`optimizer.wat`), four weights per instruction, with
 * the float32 roundings of `../fused/_optimizer_math.ts` in the same order, so that both give
 * the same bits. Each call copies blocks in and results out (`_simd_module.ts`).
 *
 * Each function returns the index up to which it computed: `lo` where the kernels do not run
 * (no WebAssembly SIMD, `DDPM_SIMD=0`, fewer than `_SIMD_MIN_VALUES` weights), else the last
 * multiple of 4 from `lo`, leaving the caller's loop at most three weights. This module stays free of TensorFlow.js.
 *
 * @module
 */
import { OPTIMIZER_WASM } from "./_optimizer_wasm.ts";
import { _BLOCK_VALUES, _SIMD_MIN_VALUES, _simdModule } from "./_simd_module.ts";

interface _Exports {
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    count: number,
    scale: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    eps: number,
    stepSize: number,
  ): void;
  ema(e: number, w: number, count: number, decay: number, keep: number): void;
}

/** This thread's instance, or null where WebAssembly SIMD is missing or turned off. */
const _kernels = _simdModule<_Exports>(OPTIMIZER_WASM);

/** Adam's scalars rounded to float32, as `_adamScalars` of `_optimizer_math.ts` makes them. */
export interface _AdamScalars {
  scale: number;
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  eps: number;
  stepSize: number;
}

/**
 * `_adamInto` of `_optimizer_math.ts` over `lo` up to the returned index.
 *
 * @returns Where the caller's loop takes over.
 */
export function _adamSimd(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  scalars: _AdamScalars,
  out: { w: Float32Array; m: Float32Array; v: Float32Array },
  lo: number,
  hi: number,
): number {
  const k = hi - lo >= _SIMD_MIN_VALUES ? _kernels() : null;
  if (k === null) return lo;
  const B = _BLOCK_VALUES, W = 0, G = 4 * B, M = 8 * B, V = 12 * B;
  k.reserve(16 * B);
  const { scale, b1, c1, b2, c2, eps, stepSize } = scalars;
  const end = hi - ((hi - lo) % 4);
  for (let s = lo; s < end; s += B) {
    const e = Math.min(s + B, end), count = e - s;
    const mem = k.f32;
    mem.set(w.subarray(s, e), W / 4);
    mem.set(g.subarray(s, e), G / 4);
    mem.set(m.subarray(s, e), M / 4);
    mem.set(v.subarray(s, e), V / 4);
    k.fn.adam(W, G, M, V, count, scale, b1, c1, b2, c2, eps, stepSize);
    out.w.set(mem.subarray(W / 4, W / 4 + count), s);
    out.m.set(mem.subarray(M / 4, M / 4 + count), s);
    out.v.set(mem.subarray(V / 4, V / 4 + count), s);
  }
  return end;
}

/**
 * `_emaInto` of `_optimizer_math.ts` over `lo` up to the returned index, with its float32
 * `decay` and `keep = 1 - decay`.
 *
 * @returns Where the caller's loop takes over.
 */
export function _emaSimd(
  e: Float32Array,
  w: Float32Array,
  decay: number,
  keep: number,
  out: Float32Array,
  lo: number,
  hi: number,
): number {
  const k = hi - lo >= _SIMD_MIN_VALUES ? _kernels() : null;
  if (k === null) return lo;
  const B = _BLOCK_VALUES, E = 0, W = 4 * B;
  k.reserve(8 * B);
  const end = hi - ((hi - lo) % 4);
  for (let s = lo; s < end; s += B) {
    const stop = Math.min(s + B, end), count = stop - s;
    const mem = k.f32;
    mem.set(e.subarray(s, stop), E / 4);
    mem.set(w.subarray(s, stop), W / 4);
    k.fn.ema(E, W, count, decay, keep);
    out.set(mem.subarray(E / 4, E / 4 + count), s);
  }
  return end;
}
