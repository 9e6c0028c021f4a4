/**
 * Fast plain-JavaScript kernels for TF.js's cpu-family backends: the copies, reductions and
 * broadcasting arithmetic that a UNet's training step spends its time in once convolutions
 * are native.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { _FastKernel } from "./_cpu_values.ts";
import { _BINARY_KERNELS } from "./_fast_binary_kernels.ts";
import { _COPY_KERNELS } from "./_fast_copy_kernels.ts";
import { _POOL_KERNELS } from "./_fast_pool_kernels.ts";
import { _REDUCE_KERNELS } from "./_fast_reduce_kernels.ts";

const FAST: Record<string, _FastKernel> = {
  ..._COPY_KERNELS,
  ..._REDUCE_KERNELS,
  ..._BINARY_KERNELS,
  ..._POOL_KERNELS,
};

/** Each kernel function registered here, mapped to the kernel it falls back to. */
const fallbackOf = new WeakMap<tf.KernelFunc, tf.KernelFunc>();

/**
 * Replaces, on a backend that keeps float32 tensors as Float32Arrays (`cpu` or one extending
 * it), TF.js's generic kernels `Concat`, `SplitV`, `Slice`, `Sum`, `Mean`, `Max`, `Add`,
 * `Sub`, `Multiply`, `RealDiv`, `SquaredDifference`, `Maximum`, `Minimum`, `MaxPool` and
 * `AvgPool` with loops over contiguous runs. Each takes its fast path for float32 in the common layouts (concat and
 * split along any axis; a strided slice; reductions over adjacent axes; same-shape operands
 * or one broadcast along adjacent dims, such as `[N, H, W, C]` with `[C]`, `[N, 1, 1, C]` or
 * `[N, 1, 1, 1]`) and otherwise calls the kernel it replaced, so results never change beyond
 * rounding: the binary ops and copies are bit-identical, reductions accumulate in float64.
 * Calling it again for the same backend does nothing.
 *
 * @param backendName The TF.js backend name, e.g. `"cpu"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { registerFastCpuKernels } from "./fast_cpu_kernels.ts";
 * await setBackend("cpu");
 * registerFastCpuKernels("cpu");
 * const y = tf.add(tf.ones([2, 3, 3, 4]), tf.tensor1d([1, 2, 3, 4]));
 * const s = (await tf.sum(y, [0, 1, 2]).array()) as number[];
 * if (s.join() !== "36,54,72,90") throw new Error(`got ${s}`);
 * ```
 */
export function registerFastCpuKernels(backendName: string): void {
  for (const [kernelName, fast] of Object.entries(FAST)) {
    const existing = tf.getKernel(kernelName, backendName);
    if (existing && fallbackOf.has(existing.kernelFunc)) continue;
    const stock = existing ?? tf.getKernel(kernelName, "cpu");
    if (!stock) throw new Error(`internal: TF.js's cpu backend has no ${kernelName} kernel`);
    const fallback = fallbackOf.get(stock.kernelFunc) ?? stock.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) =>
      fast({ inputs: args.inputs, backend: args.backend, attrs: args.attrs ?? {} }) ??
        fallback(args);
    fallbackOf.set(kernelFunc, fallback);
    if (existing) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ ...stock, kernelName, backendName, kernelFunc });
  }
}
