/**
 * The "cpu" backend in a web page: as in Deno, but without the fast copies, reductions and
 * broadcasts, whose loops are compiled with `new Function` (which a page's CSP may forbid).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { _activate } from "../_activate.ts";
import { _silenceCpuBanner } from "../_tfjs_internals.ts";
import { registerGroupNormKernels } from "./fused/group_norm_kernels.ts";
import { registerOptimizerKernels } from "./fused/optimizer_kernels.ts";
import { registerSwishKernels } from "./fused/swish_kernels.ts";

/**
 * The cpu backend of `setBrowserBackend`: TF.js's kernels and this library's fused group norm,
 * swish and optimiser kernels.
 *
 * @example
 * ```ts
 * import { browserCpuBackend } from "./browser_descriptor.ts";
 * if (browserCpuBackend.capabilities.nativeMatMul) throw new Error("plain JavaScript");
 * ```
 */
export const browserCpuBackend: BackendDescriptor = {
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
    registerGroupNormKernels("cpu");
    registerSwishKernels("cpu");
    registerOptimizerKernels("cpu");
    _silenceCpuBanner(tf.backend());
    return "";
  },
  memoryLimit: () => undefined,
};
