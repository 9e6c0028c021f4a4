/**
 * Swish and its derivative over Float32Arrays, one pass each.
 *
 * @module
 */

/** `y[i] = x[i] * sigmoid(x[i])`. */
export function _swishForward(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  // x / (1 + e^-x) rather than x * sigmoid(x): one division; for x -> -inf it tends to -0,
  // never NaN.
  for (let i = 0; i < x.length; i++) y[i] = x[i] / (1 + Math.exp(-x[i]));
  return y;
}

/** `dx[i] = dy[i] * s (1 + x (1 - s))` with `s = sigmoid(x[i])`. */
export function _swishBackward(dy: Float32Array, x: Float32Array): Float32Array {
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const s = 1 / (1 + Math.exp(-v));
    dx[i] = dy[i] * s * (1 + v * (1 - s));
  }
  return dx;
}
