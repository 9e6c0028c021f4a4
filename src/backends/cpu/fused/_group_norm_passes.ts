/**
 * The shapes of group norm's passes over NHWC activations, shared by the JavaScript loops
 * (`_group_norm_ranges.ts`) and the SIMD kernels (`../simd/_group_norm_simd.ts`).
 *
 * @module
 */

/** Batch, pixels per image and channels of an NHWC array. */
export interface _PixelDims {
  /** Images. */
  n: number;
  /** Pixels per image (H * W). */
  hw: number;
  /** Channels. */
  c: number;
}

/** The inputs of the backward's first pass. */
export interface _GroupNormGradInputs {
  /** The gradient at the output. */
  dy: Float32Array;
  /** The forward's input. */
  x: Float32Array;
  /** Per channel. */
  gamma: Float32Array;
  /** Per channel. */
  beta: Float32Array;
  /** The forward's output, when it applied swish and the gradient saved it. */
  y?: Float32Array;
  /** Whether the forward applied swish. */
  swish: boolean;
}

/** The second pass's coefficients, at `[image * c + channel]`. */
export interface _GroupNormGradCoefficients {
  /** Of `dz`. */
  a: Float64Array;
  /** Of `x - mu`. */
  bx: Float64Array;
  /** The group's mean. */
  mu: Float64Array;
  /** The constant term. */
  d1: Float64Array;
}
