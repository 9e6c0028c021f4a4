/**
 * The "cpu" backend: TF.js's plain-JavaScript kernels, with this library's fused and fast ones.
 * Slow; the reference in tests.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { _activate } from "../_activate.ts";
import { _silenceCpuBanner } from "../_tfjs_internals.ts";
import { registerCpuFamilyKernels } from "./cpu_family_kernels.ts";

/**
 * The cpu backend: one thread, no memory limit but the JavaScript heap's.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "./descriptor.ts";
 * await cpuBackend.start(false);
 * if (cpuBackend.memoryLimit() !== undefined) throw new Error("cpu has no fixed limit");
 * ```
 */
export const cpuBackend: BackendDescriptor = {
  name: "cpu",
  capabilities: {
    nativeMatMul: false,
    nativeConvGradients: false,
    precisions: ["fp32"],
    deviceMemory: false,
    threads: 1,
  },
  async start() {
    await _activate("cpu");
    registerCpuFamilyKernels("cpu");
    _silenceCpuBanner(tf.backend());
    return "";
  },
  memoryLimit: () => undefined,
};
