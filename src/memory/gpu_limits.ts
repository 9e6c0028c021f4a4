/**
 * What bounds a pass on a GPU backend: the largest buffer one kernel can bind, as the backend's
 * descriptor reads it from the device, and the device's memory budget where the user states it
 * (WebGPU does not report how much memory a GPU has).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { backendDescriptor } from "../kernels/backend_registry.ts";

/** The environment variable that states a GPU's memory budget, e.g. `DDPM_GPU_MEMORY=16GiB`. */
export const GPU_MEMORY_ENV = "DDPM_GPU_MEMORY";

/**
 * The largest tensor one kernel can read or write on `backend`, in bytes, as its descriptor's
 * `bufferLimit()` says: on `webgpu`, min(`maxStorageBufferBindingSize`, `maxBufferSize`) of the
 * device TF.js opened (it asks the adapter for its own maxima; software Vulkan gives 128 MiB);
 * undefined on other backends, whose tensors are bounded by their memory only.
 *
 * @param backend A backend name; default the one in use.
 * @returns Bytes, or undefined.
 *
 * @example
 * ```ts
 * import { bufferLimit } from "./gpu_limits.ts";
 * if (bufferLimit("cpu") !== undefined) throw new Error("cpu binds no buffers");
 * ```
 */
export function bufferLimit(backend: string = tf.getBackend()): number | undefined {
  return backendDescriptor(backend)?.bufferLimit?.();
}

/**
 * A GPU memory budget as the environment states it, in bytes: `text` is the value of
 * `DDPM_GPU_MEMORY` (`16GiB`, `12000MiB`, or bytes); undefined when unset or blank.
 *
 * @param text The variable's value, if set.
 * @returns Bytes, or undefined.
 * @throws {InputError} when it is set to something that is not a size.
 *
 * @example
 * ```ts
 * import { gpuMemoryBudget } from "./gpu_limits.ts";
 * if (gpuMemoryBudget("12GiB") !== 12 * 2 ** 30 || gpuMemoryBudget(undefined) !== undefined) {
 *   throw new Error();
 * }
 * ```
 */
export function gpuMemoryBudget(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const bytes = parseByteSize(text);
  if (bytes === undefined) {
    throw new InputError(
      `${GPU_MEMORY_ENV}="${text}" is not a memory size: use e.g. ${GPU_MEMORY_ENV}=16GiB, ` +
        `${GPU_MEMORY_ENV}=12000MiB or a byte count, or unset it`,
    );
  }
  return bytes;
}

/**
 * Parses a memory size: a positive number of bytes, optionally followed by KiB, MiB, GiB or
 * TiB (K, M, G, T, KB, MB, GB and TB are read as the same powers of 1024).
 *
 * @param text The size, e.g. `"16GiB"`.
 * @returns Bytes, or undefined when `text` is not a size.
 *
 * @example
 * ```ts
 * import { parseByteSize } from "./gpu_limits.ts";
 * if (parseByteSize("1.5 GiB") !== 1.5 * 2 ** 30 || parseByteSize("lots") !== undefined) {
 *   throw new Error();
 * }
 * ```
 */
export function parseByteSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*(?:([KMGT])(?:i?B)?|B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const power = m[2] ? "KMGT".indexOf(m[2].toUpperCase()) + 1 : 0;
  const bytes = Math.floor(Number(m[1]) * 1024 ** power);
  return bytes > 0 && Number.isFinite(bytes) ? bytes : undefined;
}
