/**
 * Halving the resolution between UNet levels.
 *
 * @module
 */
import { conv2d } from "./conv2d.ts";
import type * as tf from "@tensorflow/tfjs";
import type { ConvWeights } from "./layer_weights.ts";

/**
 * A 3x3 stride-2 convolution with TensorFlow's "SAME" padding for even sizes: no zero row
 * or column before, one after (diffusers `Downsample2D` with `padding=0`).
 *
 * @param x Input, NHWC with even height and width.
 * @param weights The 3x3 conv.
 * @returns `[batch, height / 2, width / 2, out]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { downsample } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const y = downsample(tf.ones([1, 8, 8, 2]) as tf.Tensor4D, {
 *   kernel: tf.ones([3, 3, 2, 2]), bias: tf.zeros([2]),
 * });
 * if (y.shape.join() !== "1,4,4,2") throw new Error(y.shape.join());
 * ```
 */
export function downsample(x: tf.Tensor4D, weights: ConvWeights): tf.Tensor4D {
  return conv2d(x, weights.kernel, { strides: 2, pad: [[0, 1], [0, 1]], bias: weights.bias });
}
