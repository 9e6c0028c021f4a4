/**
 * The dense (linear) layer.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { backendCapabilities } from "../kernels/backend_registry.ts";
import { conv2d } from "./conv2d.ts";
import type { DenseWeights } from "./layer_weights.ts";

/**
 * Applies `x @ kernel + bias` to the last axis of `x`.
 *
 * @param x Input, `[..., in]`.
 * @param weights Kernel `[in, out]` and bias `[out]`.
 * @returns Output, `[..., out]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { dense } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const y = dense(tf.ones([2, 3]), { kernel: tf.ones([3, 4]), bias: tf.ones([4]) });
 * if (y.shape.join() !== "2,4" || (await y.data())[0] !== 4) throw new Error();
 * ```
 */
export function dense<T extends tf.Tensor>(x: T, weights: DenseWeights): T {
  const [inCh, outCh] = weights.kernel.shape;
  if (x.shape[x.rank - 1] !== inCh) {
    throw new TypeError(`dense expects ${inCh} input features: got shape [${x.shape}]`);
  }
  // A 2-D input needs no reshapes, and each would be two more ops on the tape.
  if (x.rank === 2) {
    return matMul2d(x as tf.Tensor2D, weights.kernel, weights.bias) as tf.Tensor as T;
  }
  return tf.tidy(() => {
    const y = matMul2d(tf.reshape(x, [-1, inCh]), weights.kernel, weights.bias);
    return tf.reshape(y, [...x.shape.slice(0, -1), outCh]) as T;
  });
}

/**
 * The matrix product `a @ b (+ bias)`, computed as a 1x1 {@linkcode conv2d}: on `wasm` the
 * convolution runs on XNNPACK at several times the speed of `tf.matMul`, and its gradients
 * are convolutions too. Backends with a native matmul (`onednn`, `tensorflow`) use it.
 *
 * @param a `[m, k]`.
 * @param b `[k, n]`.
 * @param bias Optional `[n]`.
 * @returns `[m, n]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { matMul2d } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const y = matMul2d(tf.tensor2d([1, 2], [1, 2]), tf.tensor2d([3, 4], [2, 1]));
 * if ((await y.data())[0] !== 11) throw new Error();
 * ```
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) throw new TypeError(`matMul2d inner sizes differ: [${a.shape}] @ [${b.shape}]`);
  if (backendCapabilities().nativeMatMul) return tf.fused.matMul({ a, b, bias }) as tf.Tensor2D;
  return tf.tidy(() => {
    const y = conv2d(tf.reshape(a, [1, m, 1, k]), tf.reshape(b, [1, 1, k, n]), { bias });
    return tf.reshape(y, [m, n]);
  });
}
