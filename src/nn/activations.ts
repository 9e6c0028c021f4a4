/**
 * Activation functions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Swish (SiLU): `x * sigmoid(x)`, the nonlinearity of the paper's UNet.
 *
 * @param x Any float tensor.
 * @returns A tensor of the same shape.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { swish, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const y = swish(tf.tensor1d([0, 1])).dataSync();
 * if (y[0] !== 0 || Math.abs(y[1] - 1 / (1 + Math.exp(-1))) > 1e-6) throw new Error();
 * ```
 */
export function swish<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
