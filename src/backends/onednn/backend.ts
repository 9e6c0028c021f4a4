/**
 * The "onednn" TF.js backend: TF.js's plain-JS cpu backend, its tensors ordinary typed arrays
 * (no WebAssembly heap limit), with the hot kernels replaced by oneDNN primitives called
 * through Deno's FFI.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { registerFastCpuKernels } from "../fast_cpu_kernels.ts";
import { registerGroupNormKernels } from "../group_norm_kernels.ts";
import { registerOptimizerKernels } from "../optimizer_kernels.ts";
import { registerSwishKernels } from "../swish_kernels.ts";
import { registerBackendMemoryLimit } from "../memory_limit.ts";
import { ConvPrimitives } from "./_conv.ts";
import { convKernels } from "./_conv_kernels.ts";
import type { _OneDnnState } from "./_kernel_util.ts";
import { openOneDnn } from "./_lib.ts";
import { MatMulPrimitives } from "./_matmul.ts";
import { matMulKernels } from "./_matmul_kernels.ts";
import { groupNormKernel } from "./_group_norm_kernel.ts";
import { ScaleShiftPrimitives } from "./_scale_shift.ts";
import { SoftmaxPrimitives } from "./_softmax.ts";
import { softmaxKernel } from "./_softmax_kernel.ts";

/** The backend's name in TF.js's registry. */
export const ONEDNN_BACKEND = "onednn";

/**
 * Registers the "onednn" backend with TF.js (once): every kernel of the cpu backend, with
 * convolutions and matrix products native. Select it with `tf.setBackend("onednn")`.
 *
 * @returns The oneDNN version loaded.
 * @throws {OneDnnUnavailableError} when `libdnnl.so.2` cannot be loaded, naming the fix.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs";
 * import { registerOneDnnBackend } from "@x/ddpm/backends";
 * registerOneDnnBackend();
 * await tf.setBackend("onednn");
 * ```
 */
export function registerOneDnnBackend(): string {
  const rt = openOneDnn();
  if (tf.findBackend(ONEDNN_BACKEND)) return rt.version;
  const cpu = tf.findBackend("cpu");
  if (!cpu) throw new Error("internal: TF.js's cpu backend is not registered");
  // TF.js does not export its cpu backend class; the registered instance's constructor is it.
  const CpuBackend = cpu.constructor as new () => tf.KernelBackend;
  class OneDnnBackend extends CpuBackend {
    onednn: _OneDnnState = {
      rt,
      conv: new ConvPrimitives(rt),
      matmul: new MatMulPrimitives(rt),
      softmax: new SoftmaxPrimitives(rt),
      scaleShift: new ScaleShiftPrimitives(rt),
    };
    override dispose(): void {
      this.onednn.conv.dispose();
      this.onednn.matmul.dispose();
      this.onednn.softmax.dispose();
      this.onednn.scaleShift.dispose();
      super.dispose();
    }
  }
  tf.registerBackend(ONEDNN_BACKEND, () => {
    const b = new OneDnnBackend();
    // The cpu backend prints a banner advertising tfjs-node on first use.
    (b as unknown as { firstUse: boolean }).firstUse = false;
    return b;
  }, 0);
  const native = [
    ...convKernels(ONEDNN_BACKEND),
    ...matMulKernels(ONEDNN_BACKEND),
    softmaxKernel(ONEDNN_BACKEND),
    // Before the cpu family's kernels below, which register only names not yet taken.
    groupNormKernel(ONEDNN_BACKEND),
  ];
  const nativeNames = new Set(native.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend("cpu")) {
    if (!nativeNames.has(k.kernelName)) tf.registerKernel({ ...k, backendName: ONEDNN_BACKEND });
  }
  for (const k of native) tf.registerKernel(k);
  registerGroupNormKernels(ONEDNN_BACKEND);
  registerSwishKernels(ONEDNN_BACKEND);
  registerOptimizerKernels(ONEDNN_BACKEND);
  registerFastCpuKernels(ONEDNN_BACKEND);
  // Tensors are typed arrays in the process: half the machine's memory, the other half for
  // arrays that TF.js has released but the garbage collector has not yet freed, and the system.
  registerBackendMemoryLimit(ONEDNN_BACKEND, () => {
    const total = hostMemoryBytes();
    return total === undefined ? undefined : total / 2;
  });
  return rt.version;
}

function hostMemoryBytes(): number | undefined {
  try {
    return Deno.systemMemoryInfo().total;
  } catch {
    return undefined; // no --allow-sys: no limit known
  }
}
