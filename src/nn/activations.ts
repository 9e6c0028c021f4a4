/**
 * Activation functions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _ensureSwishGradient, SWISH } from "../kernels/_swish.ts";

/**
 * Swish (SiLU): `x * sigmoid(x)`, the nonlinearity of the paper's UNet. Runs as one fused
 * kernel on backends that register `DdpmSwish` (see `registerSwishKernels`), otherwise as
 * `mul(x, sigmoid(x))`.
 *
 * @param x Any float tensor.
 * @returns A tensor of the same shape.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { swish } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const y = await swish(tf.tensor1d([0, 1])).data();
 * if (y[0] !== 0 || Math.abs(y[1] - 1 / (1 + Math.exp(-1))) > 1e-6) throw new Error();
 * ```
 */
export function swish<T extends tf.Tensor>(x: T): T {
  if (x.dtype === "float32" && tf.getKernel(SWISH, tf.getBackend())) {
    _ensureSwishGradient();
    return tf.engine().runKernel(SWISH, { x }) as T;
  }
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}
