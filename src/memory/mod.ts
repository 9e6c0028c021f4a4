/**
 * Memory: how much a backend can hold, how many images fit in a pass, and out-of-memory errors
 * that say what to change.
 *
 * @example
 * ```ts
 * import { formatBytes, WASM_HEAP_LIMIT_BYTES } from "@x/ddpm/memory";
 * const text = formatBytes(WASM_HEAP_LIMIT_BYTES); // the most a wasm backend can hold
 * if (text !== "4.0 GiB") throw new Error(text);
 * ```
 *
 * @module
 */
export {
  backendMemoryLimit,
  chooseMicroBatchSize,
  formatBytes,
  inferenceChunkSize,
  MEMORY_HEADROOM,
  WASM_HEAP_LIMIT_BYTES,
} from "./memory_limit.ts";
export * from "./out_of_memory.ts";
export * from "./wasm_heap_full_error.ts";
