/**
 * Which backends run their own matrix-product and convolution-gradient kernels natively.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Backends whose `BatchMatMul`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` kernels are
 * native and fast. Elsewhere (wasm, cpu) the layers rewrite products as 1x1 convolutions and
 * gradients as forward convolutions, which those backends run best. On webgpu the filter
 * gradient rewritten as a forward convolution has a kernel as large as the image, which TF.js's
 * WebGPU convolution handles badly: a tiny-preset training step at batch 2 took 20.9 s that way
 * on software Vulkan and 13.8 s with the native kernels (bench/profile_train_step.ts).
 */
const NATIVE: ReadonlySet<string> = new Set(["onednn", "tensorflow", "webgpu"]);

/**
 * True when the active backend's own matmul and convolution-gradient kernels are the fast path.
 *
 * @returns Whether to use them.
 */
export function _hasNativeKernels(): boolean {
  return NATIVE.has(tf.getBackend());
}
