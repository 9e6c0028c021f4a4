/**
 * The arithmetic of the fused optimiser kernels on Float32Arrays. Each step is rounded to
 * float32 (`Math.fround`) where the composition of TF.js ops stores a float32 tensor, so the
 * results equal the composition's on the cpu backend bit for bit.
 *
 * @module
 */
import type { AdamAttrs } from "../../../kernels/_optimizer.ts";
import { type _Alloc, _newFloats } from "../_cpu_family.ts";
import { type _AdamScalars, _adamSimd, _emaSimd } from "../simd/_optimizer_simd.ts";

const f32 = Math.fround;

/** One Adam step over `w`, `g`, `m`, `v` with the gradient times `gradScale`, into new arrays. */
export function _adamStep(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  attrs: AdamAttrs & { gradScale: number },
  alloc: _Alloc = _newFloats,
): { w: Float32Array; m: Float32Array; v: Float32Array } {
  const n = w.length;
  const out = { w: alloc(n), m: alloc(n), v: alloc(n) };
  _adamInto(w, g, m, v, attrs, out);
  return out;
}

/**
 * One Adam step written into `out`, whose arrays may be `w`, `m` and `v` themselves (each
 * element is read before it is written): the in-place form of {@linkcode _adamStep}. Only
 * elements `lo` to `hi - 1` are touched, so threads may share one weight. The SIMD kernel
 * takes all but the last few where it runs, with the same result.
 */
export function _adamInto(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  attrs: AdamAttrs & { gradScale: number },
  out: { w: Float32Array; m: Float32Array; v: Float32Array },
  lo = 0,
  hi: number = w.length,
): void {
  const scalars = _adamScalars(attrs);
  const { scale, b1, c1, b2, c2, eps, stepSize } = scalars;
  const { w: w1, m: m1, v: v1 } = out;
  for (let i = _adamSimd(w, g, m, v, scalars, out, lo, hi); i < hi; i++) {
    const gs = f32(g[i] * scale);
    const mi = f32(f32(m[i] * b1) + f32(gs * c1));
    const vi = f32(f32(v[i] * b2) + f32(f32(gs * gs) * c2));
    m1[i] = mi;
    v1[i] = vi;
    w1[i] = w[i] - f32(f32(mi / f32(f32(Math.sqrt(vi)) + eps)) * stepSize);
  }
}

/**
 * Adam's scalars as the loops and the SIMD kernel use them: the composition turns each into a
 * float32 tensor, and forms 1 - beta in float64 first.
 */
export function _adamScalars(attrs: AdamAttrs & { gradScale: number }): _AdamScalars {
  return {
    scale: f32(attrs.gradScale),
    b1: f32(attrs.beta1),
    c1: f32(1 - attrs.beta1),
    b2: f32(attrs.beta2),
    c2: f32(1 - attrs.beta2),
    eps: f32(attrs.epsilon),
    stepSize: f32(attrs.stepSize),
  };
}

/** One EMA step, `decay * e + (1 - decay) * w`, into a new array. */
export function _emaStep(
  e: Float32Array,
  w: Float32Array,
  decay: number,
  alloc: _Alloc = _newFloats,
): Float32Array {
  const out = alloc(e.length);
  _emaInto(e, w, decay, out);
  return out;
}

/**
 * One EMA step written into `out`, which may be `e` itself; elements `lo` to `hi - 1`. The
 * SIMD kernel takes all but the last few where it runs, with the same result.
 */
export function _emaInto(
  e: Float32Array,
  w: Float32Array,
  decay: number,
  out: Float32Array,
  lo = 0,
  hi: number = e.length,
): void {
  const d = f32(decay), c = f32(1 - decay);
  for (let i = _emaSimd(e, w, d, c, out, lo, hi); i < hi; i++) {
    out[i] = f32(e[i] * d) + f32(w[i] * c);
  }
}

/** The sum of squares of `x[lo]` to `x[hi - 1]`, exact squares accumulated in float64. */
export function _sumSquares(x: Float32Array, lo = 0, hi: number = x.length): number {
  // Four sums, not one: a single chain of float64 adds waits on each add's latency.
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = hi - ((hi - lo) % 4);
  for (let i = lo; i < n4; i += 4) {
    s0 += x[i] * x[i];
    s1 += x[i + 1] * x[i + 1];
    s2 += x[i + 2] * x[i + 2];
    s3 += x[i + 3] * x[i + 3];
  }
  for (let i = n4; i < hi; i++) s0 += x[i] * x[i];
  return (s0 + s1) + (s2 + s3);
}
