/**
 * The weight bundles the layer functions take, in TF.js layout.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** A convolution: kernel `[kh, kw, in, out]` (HWIO) and bias `[out]`. */
export interface ConvWeights {
  /** HWIO kernel. */
  kernel: tf.Tensor4D;
  /** Per-output-channel bias. */
  bias: tf.Tensor1D;
}

/** A dense (linear) layer: kernel `[in, out]` and bias `[out]`. */
export interface DenseWeights {
  /** Kernel, `[in, out]`. */
  kernel: tf.Tensor2D;
  /** Bias, `[out]`. */
  bias: tf.Tensor1D;
}

/** The affine part of a normalisation: scale `gamma` and shift `beta`, both `[channels]`. */
export interface NormWeights {
  /** Per-channel scale (diffusers `weight`). */
  gamma: tf.Tensor1D;
  /** Per-channel shift (diffusers `bias`). */
  beta: tf.Tensor1D;
}
