/**
 * Choosing the threaded build of the wasm backend when it starts, the single-thread build when
 * it does not.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  createSingleThreadWasmBackend,
  createThreadedWasmBackend,
  MAX_WASM_THREADS,
} from "./wasm_threads.ts";
import { _startedBackend } from "../_tfjs_internals.ts";
import { _wasmDescriptor } from "./_wasm_descriptor.ts";
import { registerBackendDescriptor } from "../../kernels/backend_registry.ts";
import { _wasmThreadsFromEnv } from "./_wasm_threads_env.ts";

/** The priority tfjs-backend-wasm registers "wasm" with. */
const WASM_PRIORITY = 2;

let attempt: Promise<string> | undefined;
let startedThreads = 1;

/**
 * Threads the "wasm" backend runs on, once {@linkcode preferThreadedWasm} has chosen its build.
 *
 * @returns The thread count; 1 before the choice and for the single-thread build.
 *
 * @example
 * ```ts
 * import { wasmThreads } from "./prefer_threaded_wasm.ts";
 * if (!(wasmThreads() >= 1)) throw new Error("at least one thread");
 * ```
 */
export function wasmThreads(): number {
  return startedThreads;
}

/**
 * Registers the threaded SIMD wasm backend as `"wasm"` when it starts, before tfjs starts its
 * single-thread build; otherwise leaves the single-thread build in place. Runs once; later calls
 * return the first answer.
 *
 * Threads: `DDPM_WASM_THREADS` when set (1 keeps the single-thread build), else the number of
 * logical cores, at most {@linkcode MAX_WASM_THREADS}.
 *
 * @returns One line for the log: the build in use, and why when it is the single-thread one.
 *
 * @example
 * ```ts
 * import { preferThreadedWasm } from "./prefer_threaded_wasm.ts";
 * const line = await preferThreadedWasm(); // e.g. "threaded SIMD build, 2 threads"
 * if (!line.includes("SIMD build")) throw new Error(line);
 * ```
 */
export function preferThreadedWasm(): Promise<string> {
  attempt ??= choose();
  return attempt;
}

async function choose(): Promise<string> {
  if (_startedBackend("wasm")) return "single-thread SIMD build: it had already started";
  const fromEnv = _wasmThreadsFromEnv(envText(), MAX_WASM_THREADS);
  const threads = fromEnv.threads ??
    Math.min(navigator.hardwareConcurrency ?? 1, MAX_WASM_THREADS);
  let why = fromEnv.threads !== undefined ? "DDPM_WASM_THREADS=1" : "one CPU core";
  if (threads > 1) {
    try {
      startedThreads = await registerThreadedWasm("wasm", threads);
      return `threaded SIMD build, ${threads} threads` +
        (fromEnv.note ? ` (${fromEnv.note})` : "");
    } catch (err) {
      why = `the threaded build did not start: ${(err as Error)?.message ?? err}`;
    }
  }
  try {
    const { backend } = await createSingleThreadWasmBackend();
    tf.removeBackend("wasm");
    tf.registerBackend("wasm", () => backend, WASM_PRIORITY);
  } catch {
    // tfjs's own loader stays registered and starts the same build.
  }
  return `single-thread SIMD build: ${why}`;
}

/**
 * Starts a threaded wasm backend and registers it, with the wasm kernels, under `name`.
 *
 * @param name The backend name; `"wasm"` replaces tfjs's single-thread registration.
 * @param threads Threads to run on.
 * @returns The number of threads the backend started with.
 *
 * @example Two backends side by side, as bench/wasm_threads_table.ts does
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerThreadedWasm } from "./prefer_threaded_wasm.ts";
 * const threads = await registerThreadedWasm("wasm-doc-2t", 2);
 * await tf.setBackend("wasm-doc-2t");
 * const y = tf.matMul(tf.ones([4, 4]), tf.ones([4, 4]));
 * if ((await y.data())[0] !== 4 || threads !== 2) throw new Error("threaded matMul");
 * ```
 */
export async function registerThreadedWasm(name: string, threads: number): Promise<number> {
  const { backend, threads: started } = await createThreadedWasmBackend(threads);
  if (name === "wasm") {
    tf.removeBackend("wasm");
  } else {
    for (const kernel of tf.getKernelsForBackend("wasm")) {
      tf.registerKernel({ ...kernel, backendName: name });
    }
  }
  tf.registerBackend(name, () => backend, WASM_PRIORITY);
  if (name !== "wasm") registerBackendDescriptor(_wasmDescriptor(name, started));
  return started;
}

function envText(): string | undefined {
  try {
    return Deno.env.get("DDPM_WASM_THREADS");
  } catch {
    return undefined; // no --allow-env
  }
}
