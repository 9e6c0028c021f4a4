/**
 * The "wasm" backend: WebAssembly with XNNPACK and SIMD, on every core (at most 8) through the
 * threaded build when it starts, else on one. Works everywhere, no install.
 *
 * @module
 */
// Registers TF.js's "wasm" backend. Under Deno the binaries load from the npm package on disk.
import "@tensorflow/tfjs-backend-wasm";
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { _activate } from "../_activate.ts";
import { _wasmDescriptor } from "./_wasm_descriptor.ts";
import { registerWasmOptimizerKernels } from "./optimizer_kernels.ts";
import { preferThreadedWasm, wasmThreads } from "./prefer_threaded_wasm.ts";

// Before any threaded backend copies wasm's kernels under its own name.
registerWasmOptimizerKernels("wasm");

/**
 * The wasm backend of `setBackend`: the threaded SIMD build when it starts (the log line says
 * which build and why), its 4 GiB heap as its memory limit.
 *
 * @example
 * ```ts
 * import { WASM_HEAP_LIMIT_BYTES } from "../../memory/memory_limit.ts";
 * import { wasmBackend } from "./descriptor.ts";
 * if (wasmBackend.memoryLimit() !== WASM_HEAP_LIMIT_BYTES) throw new Error("wasm32: 4 GiB");
 * ```
 */
export const wasmBackend: BackendDescriptor = _wasmDescriptor("wasm", undefined, async () => {
  const build = await preferThreadedWasm();
  await _activate("wasm");
  wasmBackend.capabilities.threads = wasmThreads();
  return build;
});
