/**
 * How much memory a TensorFlow.js backend can hold, where it has a hard limit.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The wasm backends' heap limit: wasm32 addresses 4 GiB, and the tfjs builds grow their heap up
 * to `getHeapMax()` = 4 GiB - 64 KiB. A request past it aborts the module.
 */
export const WASM_HEAP_LIMIT_BYTES = 4294901760;

/**
 * The most bytes the backend can hold, or `undefined` where it has no fixed limit that this
 * library knows (cpu: the JavaScript heap; webgpu and tensorflow: the device's memory).
 *
 * @param backend A backend name; default the one in use.
 * @returns The limit in bytes, or undefined.
 *
 * @example
 * ```ts
 * import { backendMemoryLimit, WASM_HEAP_LIMIT_BYTES } from "./memory_limit.ts";
 * if (backendMemoryLimit("wasm") !== WASM_HEAP_LIMIT_BYTES) throw new Error("wasm is 4 GiB");
 * if (backendMemoryLimit("cpu") !== undefined) throw new Error("cpu has no fixed limit");
 * ```
 */
export function backendMemoryLimit(backend: string = tf.getBackend()): number | undefined {
  return backend === "wasm" || backend.startsWith("wasm-") ? WASM_HEAP_LIMIT_BYTES : undefined;
}

/**
 * Formats a byte count for messages: "3.2 GiB", "180 MiB".
 *
 * @param bytes A byte count.
 * @returns The count in GiB (one decimal) from 1 GiB up, else in MiB.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./memory_limit.ts";
 * if (formatBytes(3 * 2 ** 30) !== "3.0 GiB" || formatBytes(5 * 2 ** 20) !== "5 MiB") throw new Error();
 * ```
 */
export function formatBytes(bytes: number): string {
  return bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toFixed(1)} GiB`
    : `${Math.round(bytes / 2 ** 20)} MiB`;
}
