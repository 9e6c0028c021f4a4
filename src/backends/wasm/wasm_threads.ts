/**
 * Starting the threaded SIMD build of TensorFlow.js's wasm backend under Deno.
 *
 * `@tensorflow/tfjs-backend-wasm` ships `tfjs-backend-wasm-threaded-simd.wasm`, but under Deno
 * it never uses it: tfjs turns threads off when it believes it runs in Node, and emscripten's
 * Node path would hand `node:worker_threads` a Blob URL, which Deno rejects (`ERR_WORKER_PATH`).
 * This loader runs emscripten's own factory with its pthread workers started from source
 * (`new Worker(code, { eval: true })`, which Deno's `node:worker_threads` accepts), then wraps
 * the module in tfjs's `BackendWasm`, so every wasm kernel runs unchanged on the threaded build.
 *
 * @module
 */
import { BackendWasm, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import os from "node:os";
import { Worker as NodeWorker } from "node:worker_threads";
import { WasmHeapFullError } from "../../memory/wasm_heap_full_error.ts";
import { _unrefPthreadWorkers, _withGlobalWorker, _withLogicalCores } from "../_tfjs_internals.ts";

/** Emscripten starts this many pthread workers up front; more threads would need late workers. */
export const MAX_WASM_THREADS = 8;

/** How long the workers may take to load before the loader gives up. */
const START_TIMEOUT_MS = 30_000;

/**
 * Emscripten's worker, on Node, assigns these globals with `Object.assign(global, ...)`. In a
 * Deno worker some are getters only (`location`), and assigning `onmessage` would install a
 * second, Web-level message handler beside `parentPort`'s; plain writable properties take both.
 */
const WORKER_PRELUDE = "for (const k of " +
  JSON.stringify([
    "location",
    "Worker",
    "importScripts",
    "postMessage",
    "performance",
    "onmessage",
  ]) +
  ") Object.defineProperty(globalThis, k, " +
  "{ value: globalThis[k], writable: true, configurable: true });\n";

type EmscriptenModule = ConstructorParameters<typeof BackendWasm>[0];
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/**
 * Starts the threaded SIMD wasm module and returns a tfjs wasm backend running on `threads`
 * threads (the calling thread plus `threads - 1` workers).
 *
 * Register the result with `tf.registerBackend(name, () => backend)`; the wasm kernels must be
 * registered under that name (they are for `"wasm"`).
 *
 * @param threads The number of threads, 1 to {@linkcode MAX_WASM_THREADS}.
 * @returns The backend, with its thread count.
 * @throws {RangeError} for a thread count out of range.
 * @throws {Error} when this runtime cannot start the workers; the message says why.
 *
 * @example A thread count out of range is a RangeError
 * ```ts
 * import { createThreadedWasmBackend } from "./wasm_threads.ts";
 * const err = await createThreadedWasmBackend(0).catch((e) => e);
 * if (!(err instanceof RangeError)) throw new Error("expected a RangeError");
 * ```
 */
export async function createThreadedWasmBackend(
  threads: number,
): Promise<{ backend: BackendWasm; threads: number }> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new RangeError(
      `Cannot start threaded wasm as threads must be an integer in [1, ${MAX_WASM_THREADS}]: ` +
        `current value is ${threads}`,
    );
  }
  if (typeof SharedArrayBuffer === "undefined") {
    throw new Error("SharedArrayBuffer is not available in this runtime");
  }
  const [{ default: factory }, { wasmWorkerContents }] = await Promise.all([
    import("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js"),
    import("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js"),
  ]) as unknown as [{ default: Factory }, { wasmWorkerContents: string }];
  // The package stores the worker in a template literal, which turned its "\\n" escapes into
  // newlines inside string literals; tfjs escapes them again before use, and so does this.
  const workerSource = WORKER_PRELUDE + wasmWorkerContents.replace(/\n/g, "\\n");
  // Emscripten's pthread workers, started from source: `new Worker(code, { eval: true })`.
  class SourceWorker extends NodeWorker {
    constructor(_path: string) {
      super(workerSource, { eval: true });
    }
  }
  const module = await _withGlobalWorker(
    SourceWorker,
    () => _withLogicalCores(os, 2 * MAX_WASM_THREADS, () => startModule(factory)),
  );
  const started = wrapModule(module, threads);
  // Like the idle workers, the thread pool's must not keep the process alive.
  _unrefPthreadWorkers(module);
  return started;
}

/**
 * Starts the single-thread SIMD wasm module, as tfjs does, but with this library's handling of
 * a full heap (see {@linkcode WasmHeapFullError}) and without emscripten's "Aborted()" lines.
 *
 * @returns The backend, with its thread count (1).
 *
 * @example
 * ```ts
 * import { createSingleThreadWasmBackend } from "./wasm_threads.ts";
 * const { threads } = await createSingleThreadWasmBackend();
 * if (threads !== 1) throw new Error(String(threads));
 * ```
 */
export async function createSingleThreadWasmBackend(): Promise<
  { backend: BackendWasm; threads: number }
> {
  const { default: factory } = await import(
    "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-simd.js"
  ) as unknown as { default: Factory };
  // Its epilogue looks for the global that tfjs's bundle names the factory; any object will do
  // (it only wraps that object's _dispose).
  const g = globalThis as Record<string, unknown>;
  const had = "WasmBackendModule" in g;
  if (!had) g.WasmBackendModule = {};
  try {
    return wrapModule(await startModule(factory), 1);
  } finally {
    if (!had) delete g.WasmBackendModule;
  }
}

/** Adds tfjs's wrappers, guards malloc, and builds the backend on `threads` threads. */
function wrapModule(
  module: EmscriptenModule,
  threads: number,
): { backend: BackendWasm; threads: number } {
  const m = module as unknown as {
    cwrap: CWrap;
    tfjs: { getThreadsCount(): number };
    _malloc(bytes: number): number;
  };
  const cwrap = m.cwrap;
  (module as unknown as { tfjs: unknown }).tfjs = {
    init: cwrap("init", null, []),
    initWithThreadsCount: cwrap("init_with_threads_count", null, ["number"]),
    getThreadsCount: cwrap("get_threads_count", "number", []),
    registerTensor: cwrap("register_tensor", null, ["number", "number", "number"]),
    disposeData: cwrap("dispose_data", null, ["number"]),
    dispose: cwrap("dispose", null, []),
  };
  // Emscripten's `_malloc` is a stub that replaces itself with the raw export on first call;
  // wrap the raw export, or the wrapper would be dropped.
  const asm = (module as unknown as { asm?: { malloc?: (bytes: number) => number } }).asm;
  const malloc = asm?.malloc ?? m._malloc;
  const mod = module as unknown as {
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
    _free(ptr: number): void;
  };
  const memory = mod.wasmMemory ?? mod.asm?.memory;
  m._malloc = (bytes: number) => {
    const ptr = malloc(bytes);
    if (ptr === 0 && bytes > 0) throw new WasmHeapFullError(bytes);
    // Near 4 GiB, emscripten's 32-bit heap arithmetic wraps: malloc "succeeds" with a block
    // that ends past the heap, which tfjs would then overrun.
    if (memory && (ptr >>> 0) + bytes > memory.buffer.byteLength) {
      mod._free(ptr);
      throw new WasmHeapFullError(bytes);
    }
    return ptr;
  };
  // BackendWasm's constructor reads the count set here and starts the thread pool.
  setThreadsCount(threads);
  const backend = new BackendWasm(module);
  return { backend, threads: m.tfjs.getThreadsCount() };
}

type CWrap = (name: string, ret: string | null, args: string[]) => unknown;

/** Runs the factory, keeping the event loop alive: emscripten unrefs its workers. */
async function startModule(factory: Factory): Promise<EmscriptenModule> {
  let abortMessage = "";
  const keepAlive = setInterval(() => {}, 1000);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`its workers did not load within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
    });
    const ready = factory({
      onAbort: (what: string) => abortMessage = String(what),
      // "Aborted()" reaches the caller as the error thrown below, with onAbort's reason.
      printErr: (s: string) => {
        if (!s.startsWith("Aborted(")) console.error(`ddpm: wasm: ${s}`);
      },
    });
    return await Promise.race([ready, timeout]);
  } catch (err) {
    throw new Error(
      `the threaded wasm module did not start: ${abortMessage || (err as Error)?.message}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
    clearInterval(keepAlive);
  }
}
