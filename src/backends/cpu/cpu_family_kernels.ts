/**
 * This library's plain-JavaScript kernels, for every backend whose tensors are typed arrays in
 * the process (TF.js's cpu backend, and onednn, which extends it).
 *
 * @module
 */
import { registerFastCpuKernels } from "./fast_cpu_kernels.ts";
import { registerGroupNormKernels } from "./fused/group_norm_kernels.ts";
import { registerOptimizerKernels } from "./fused/optimizer_kernels.ts";
import { registerSwishKernels } from "./fused/swish_kernels.ts";

/**
 * Registers the fused group-norm, swish and optimiser kernels and the fast copies, reductions
 * and broadcasts for `backendName`, where no kernel of the same name is registered yet.
 *
 * @param backendName A backend of TF.js's cpu family.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerCpuFamilyKernels } from "./cpu_family_kernels.ts";
 * registerCpuFamilyKernels("cpu");
 * if (!tf.getKernel("DdpmGroupNorm", "cpu")) throw new Error("not registered");
 * ```
 */
export function registerCpuFamilyKernels(backendName: string): void {
  registerGroupNormKernels(backendName);
  registerSwishKernels(backendName);
  registerOptimizerKernels(backendName);
  registerFastCpuKernels(backendName);
}
