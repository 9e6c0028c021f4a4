/**
 * Turning a backend's out-of-memory failure into an error that says what to change.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { backendMemoryLimit, formatBytes } from "./memory_limit.ts";
import { WasmHeapFullError } from "./wasm_heap_full_error.ts";

/** Thrown when a step or a sample needs more memory than the backend has. */
export class OutOfMemoryError extends Error {
  /**
   * Makes the error.
   *
   * @param message What ran out, how much it needed, the limit, and the flag to lower.
   * @param options The backend's own error as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OutOfMemoryError";
  }
}

/**
 * True for the ways a backend reports a full heap: this library's {@linkcode WasmHeapFullError},
 * emscripten's `Aborted()` and a wasm access past the heap (tfjs writing to a failed
 * allocation), and an allocation the JavaScript engine refused.
 *
 * @param err Anything thrown.
 * @returns Whether it means out of memory.
 *
 * @example
 * ```ts
 * import { isOutOfMemory } from "./out_of_memory.ts";
 * if (!isOutOfMemory(new WebAssembly.RuntimeError("Aborted(). Build with -sASSERTIONS"))) throw new Error();
 * if (isOutOfMemory(new TypeError("shape mismatch"))) throw new Error();
 * ```
 */
export function isOutOfMemory(err: unknown): boolean {
  if (err instanceof WasmHeapFullError) return true;
  const message = String((err as Error)?.message ?? err);
  if (err instanceof WebAssembly.RuntimeError) {
    return /^Aborted\(|memory access out of bounds/.test(message);
  }
  return err instanceof RangeError && /allocation failed|Invalid typed array length/.test(message);
}

/**
 * Wraps an out-of-memory failure in an {@linkcode OutOfMemoryError} saying how much the work
 * needed, the backend's limit and the flag to lower; returns any other error as it is.
 *
 * @param err What was thrown.
 * @param ctx What ran out (`"the training step"`), the estimate of what it needed (when
 *   known), and the flag with its current value.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { explainOutOfMemory, OutOfMemoryError } from "./out_of_memory.ts";
 * const err = explainOutOfMemory(new WebAssembly.RuntimeError("Aborted()"), {
 *   what: "the training step", neededBytes: 5 * 2 ** 30, backend: "wasm",
 *   flag: "--micro-batch", value: 8,
 * });
 * if (!(err instanceof OutOfMemoryError) || !err.message.includes("--micro-batch")) throw err;
 * ```
 */
export function explainOutOfMemory(
  err: unknown,
  ctx: { what: string; neededBytes?: number; backend?: string; flag: string; value: number },
): unknown {
  if (!isOutOfMemory(err)) return err;
  const backend = ctx.backend ?? tf.getBackend();
  const limit = backendMemoryLimit(backend);
  const needed = ctx.neededBytes === undefined
    ? ""
    : ` it needed about ${formatBytes(ctx.neededBytes)},`;
  const limitText = limit === undefined ? "" : ` the backend's limit is ${formatBytes(limit)};`;
  const aborted = err instanceof WebAssembly.RuntimeError
    ? " The wasm module cannot run on after this; start again (train: --resume)."
    : "";
  return new OutOfMemoryError(
    `${ctx.what} ran out of memory on backend "${backend}":${needed}${limitText} ` +
      `lower ${ctx.flag} (now ${ctx.value}).${aborted}`,
    { cause: err },
  );
}
