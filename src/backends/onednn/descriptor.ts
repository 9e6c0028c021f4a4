/**
 * The "onednn" backend as the registry sees it: oneDNN 2.x (`libdnnl.so.2`) through FFI for
 * convolutions and matrix products, TF.js's cpu kernels for the rest. How it is built is in
 * `backend.ts`.
 *
 * @module
 */
import type { BackendDescriptor, Precision } from "../../kernels/backend_descriptor.ts";
import { _activate } from "../_activate.ts";
import { ONEDNN_BACKEND, registerOneDnnBackend } from "./backend.ts";
import { OneDnnUnavailableError, openOneDnn } from "./_lib.ts";
import { oneDnnBf16Support, setOneDnnPrecision } from "./precision.ts";
import { _startHelperThreads } from "../cpu/_helper_threads.ts";

/** Its precisions: bf16 joins fp32 once a start has found native bf16 kernels. */
const precisions: Precision[] = ["fp32"];

/**
 * The onednn backend: native matmul and convolution gradients, no heap limit. Its tensors are
 * typed arrays in the process, so it may fill half the machine's memory (the other half for
 * arrays TF.js has released and the garbage collector not yet freed, and the system).
 *
 * @example
 * ```ts
 * import { onednnBackend } from "./descriptor.ts";
 * if (!onednnBackend.capabilities.precisions.includes("fp32")) throw new Error("fp32 always");
 * ```
 */
export const onednnBackend: BackendDescriptor = {
  name: ONEDNN_BACKEND,
  capabilities: {
    nativeMatMul: true,
    nativeConvGradients: true,
    precisions,
    deviceMemory: false,
  },
  async start(auto) {
    let version: string;
    try {
      version = registerOneDnnBackend();
    } catch (err) {
      if (auto || !(err instanceof OneDnnUnavailableError)) throw err;
      throw new OneDnnUnavailableError(`Cannot start backend "onednn": ${err.message}`);
    }
    const threads = openOneDnn().maxThreads;
    onednnBackend.capabilities.threads = threads;
    // Adam, the EMA and group norm are JavaScript: helpers put them on oneDNN's other cores.
    const noHelpers = await _startHelperThreads(threads - 1);
    if (noHelpers) console.error(`ddpm: onednn: ${noHelpers}`);
    await _activate(ONEDNN_BACKEND);
    if (!auto) return "";
    // "auto" says whether --precision bf16 would run native kernels.
    const bf16 = oneDnnBf16Support().ok;
    if (bf16 && !precisions.includes("bf16")) precisions.push("bf16");
    return `oneDNN ${version} loaded; ${
      bf16 ? "bf16 available (--precision bf16)" : "no native bf16"
    }`;
  },
  setPrecision(precision) {
    setOneDnnPrecision(precision);
    if (precision === "bf16" && !precisions.includes("bf16")) precisions.push("bf16");
  },
  isUnavailable: (err) => err instanceof OneDnnUnavailableError,
  memoryLimit() {
    try {
      return Deno.systemMemoryInfo().total / 2;
    } catch {
      return undefined; // no --allow-sys: no limit known
    }
  },
};
