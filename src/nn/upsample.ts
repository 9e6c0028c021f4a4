/**
 * Doubling the resolution between UNet levels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { conv2d } from "./conv2d.ts";
import type { ConvWeights } from "./layer_weights.ts";

/**
 * Nearest-neighbour x2 upsampling: each pixel becomes a 2x2 block.
 *
 * @param x Input, NHWC.
 * @returns `[batch, 2 height, 2 width, channels]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { upsampleNearest2x } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const y = upsampleNearest2x(tf.tensor4d([1, 2], [1, 1, 2, 1]));
 * if ((await y.data()).join() !== "1,1,2,2,1,1,2,2") throw new Error();
 * ```
 */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    // Copies and reshapes only, so the gradient (slices and adds) runs on every backend.
    const cols = tf.reshape(tf.concat([x, x], 3), [n, h, 1, 2 * w * c]);
    return tf.reshape(tf.concat([cols, cols], 2), [n, 2 * h, 2 * w, c]);
  });
}

/**
 * Nearest x2 upsampling then a 3x3 "same" convolution (diffusers `Upsample2D`).
 *
 * @param x Input, NHWC.
 * @param weights The 3x3 conv.
 * @returns `[batch, 2 height, 2 width, out]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { upsample } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const y = upsample(tf.ones([1, 4, 4, 2]) as tf.Tensor4D, {
 *   kernel: tf.ones([3, 3, 2, 3]), bias: tf.zeros([3]),
 * });
 * if (y.shape.join() !== "1,8,8,3") throw new Error(y.shape.join());
 * ```
 */
export function upsample(x: tf.Tensor4D, weights: ConvWeights): tf.Tensor4D {
  return tf.tidy(() => conv2d(upsampleNearest2x(x), weights.kernel, { bias: weights.bias }));
}
