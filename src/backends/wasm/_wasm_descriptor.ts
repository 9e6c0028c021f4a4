// What every wasm backend is to the core: no native matmul or convolution gradients (XNNPACK's
// forward convolution is its fast path), fp32, and the 4 GiB heap of wasm32.
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { WASM_HEAP_LIMIT_BYTES } from "../../memory/memory_limit.ts";
import { _activate } from "../_activate.ts";

/**
 * A wasm backend registered under `name` on `threads` threads; `start` makes it active (for
 * "wasm" itself, the descriptor in `descriptor.ts` also chooses the build first).
 */
export function _wasmDescriptor(
  name: string,
  threads?: number,
  start: (auto: boolean) => Promise<string> = async () => {
    await _activate(name);
    return "";
  },
): BackendDescriptor {
  return {
    name,
    capabilities: {
      nativeMatMul: false,
      nativeConvGradients: false,
      precisions: ["fp32"],
      deviceMemory: false,
      threads,
    },
    start,
    memoryLimit: () => WASM_HEAP_LIMIT_BYTES,
  };
}
