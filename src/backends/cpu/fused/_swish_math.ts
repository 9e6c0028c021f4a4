/**
 * Swish and its derivative over Float32Arrays, one pass each.
 *
 * @module
 */
import { type _Alloc, _newFloats } from "../_cpu_family.ts";

/** `y[i] = x[i] * sigmoid(x[i])`. */
export function _swishForward(x: Float32Array, alloc: _Alloc = _newFloats): Float32Array {
  const y = alloc(x.length);
  // x / (1 + e^-x) rather than x * sigmoid(x): one division; for x -> -inf it tends to -0,
  // never NaN.
  for (let i = 0; i < x.length; i++) y[i] = x[i] / (1 + Math.exp(-x[i]));
  return y;
}

/** `dx[i] = dy[i] * s (1 + x (1 - s))` with `s = sigmoid(x[i])`. */
export function _swishBackward(
  dy: Float32Array,
  x: Float32Array,
  alloc: _Alloc = _newFloats,
): Float32Array {
  const dx = alloc(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const s = 1 / (1 + Math.exp(-v));
    dx[i] = dy[i] * s * (1 + v * (1 - s));
  }
  return dx;
}
