/**
 * Which backends run their own matrix-product and convolution-gradient kernels natively.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Backends whose `BatchMatMul`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` kernels are
 * native and fast. Elsewhere (wasm, cpu, webgpu) the layers rewrite products as 1x1
 * convolutions and gradients as forward convolutions, which those backends run best.
 */
const NATIVE: ReadonlySet<string> = new Set(["onednn", "tensorflow"]);

/**
 * True when the active backend's own matmul and convolution-gradient kernels are the fast path.
 *
 * @returns Whether to use them.
 */
export function _hasNativeKernels(): boolean {
  return NATIVE.has(tf.getBackend());
}
