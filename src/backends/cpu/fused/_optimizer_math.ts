/**
 * The arithmetic of the fused optimiser kernels on Float32Arrays. Each step is rounded to
 * float32 (`Math.fround`) where the composition of TF.js ops stores a float32 tensor, so the
 * results equal the composition's on the cpu backend bit for bit.
 *
 * @module
 */
import type { AdamAttrs } from "../../../kernels/_optimizer.ts";
import { type _Alloc, _newFloats } from "../_cpu_family.ts";

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
  // The composition turns each scalar into a float32 tensor; 1 - beta is formed in float64.
  const scale = f32(attrs.gradScale);
  const b1 = f32(attrs.beta1), c1 = f32(1 - attrs.beta1);
  const b2 = f32(attrs.beta2), c2 = f32(1 - attrs.beta2);
  const eps = f32(attrs.epsilon), stepSize = f32(attrs.stepSize);
  const n = w.length;
  const w1 = alloc(n), m1 = alloc(n), v1 = alloc(n);
  for (let i = 0; i < n; i++) {
    const gs = f32(g[i] * scale);
    const mi = f32(f32(m[i] * b1) + f32(gs * c1));
    const vi = f32(f32(v[i] * b2) + f32(f32(gs * gs) * c2));
    m1[i] = mi;
    v1[i] = vi;
    w1[i] = w[i] - f32(f32(mi / f32(f32(Math.sqrt(vi)) + eps)) * stepSize);
  }
  return { w: w1, m: m1, v: v1 };
}

/** One EMA step, `decay * e + (1 - decay) * w`, into a new array. */
export function _emaStep(
  e: Float32Array,
  w: Float32Array,
  decay: number,
  alloc: _Alloc = _newFloats,
): Float32Array {
  const d = f32(decay), c = f32(1 - decay);
  const out = alloc(e.length);
  for (let i = 0; i < e.length; i++) out[i] = f32(e[i] * d) + f32(w[i] * c);
  return out;
}

/** The sum of squares of `x`, exact squares accumulated in float64. */
export function _sumSquares(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}
