/**
 * Every place this library reaches into TensorFlow.js (and the emscripten module of its wasm
 * backend) past the public API, in one file, behind a check of the one TF.js version these
 * reaches were written against. A different TF.js fails here, loudly and at the first reach,
 * rather than as a wrong result somewhere else. `tests/tfjs_internals_test.ts` fails when the
 * installed TF.js is not {@linkcode TFJS_VERSION}.
 *
 * Runs in a browser: the Node modules that two of the reaches patch are passed in.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The TF.js version every reach below was written and tested against. */
export const TFJS_VERSION = "4.22.0";

let checked = false;

/** Throws unless the loaded TF.js is {@linkcode TFJS_VERSION}; checks once. */
export function _checkTfjsVersion(loaded: string = tf.version.tfjs): void {
  if (checked && loaded === tf.version.tfjs) return;
  if (loaded !== TFJS_VERSION) {
    throw new Error(
      `ddpm needs TensorFlow.js ${TFJS_VERSION}, but ${loaded} is loaded: this library uses ` +
        `internals of TF.js ${TFJS_VERSION} (src/backends/_tfjs_internals.ts). Pin ` +
        `npm:@tensorflow/tfjs@${TFJS_VERSION} and its backends in deno.json.`,
    );
  }
  checked = true;
}

/** The backend instance TF.js has started under `name`, without starting one (engine registry). */
export function _startedBackend<T>(name: string): T | undefined {
  _checkTfjsVersion();
  return tf.engine().registry[name] as T | undefined;
}

/** TF.js's cpu backend class, which it does not export: the registered instance's constructor. */
export function _cpuBackendClass<T>(): new () => T {
  _checkTfjsVersion();
  const cpu = tf.findBackend("cpu");
  if (!cpu) throw new Error("internal: TF.js's cpu backend is not registered");
  return cpu.constructor as new () => T;
}

/**
 * Turns off the banner the cpu backend (and a backend built on its class) prints on its first
 * tensor, advertising tfjs-node: this library already says which backend it uses.
 */
export function _silenceCpuBanner(backend: object): void {
  _checkTfjsVersion();
  (backend as { firstUse: boolean }).firstUse = false;
}

/** The GPUDevice that TF.js's webgpu backend opened, if it has started. */
export function _webGpuDevice(): GPUDevice | undefined {
  return _startedBackend<{ device?: GPUDevice }>("webgpu")?.device;
}

/**
 * Lets emscripten's pthread pool end with the process: its workers wait for work forever, and
 * emscripten refs a worker when it starts a thread on it.
 */
export function _unrefPthreadWorkers(module: object): void {
  _checkTfjsVersion();
  const pthreads = (module as { PThread: { runningWorkers: { unref(): void }[] } }).PThread;
  for (const worker of pthreads.runningWorkers) worker.unref();
}

/**
 * While `start` runs, `os.cpus()` reports `count` cores. The wasm module's static initialiser
 * takes half of `emscripten_num_logical_cores()` (Node: `os.cpus().length`) as the most threads
 * it will ever start, assuming two hyperthreads per core; on a 2-core machine that would be 1.
 *
 * @param os The `node:os` module.
 */
export async function _withLogicalCores<T>(
  os: { cpus(): unknown[] },
  count: number,
  start: () => Promise<T>,
): Promise<T> {
  _checkTfjsVersion();
  const cpus = os.cpus;
  const real = cpus();
  os.cpus = () => Array.from({ length: count }, (_, i) => real[i % Math.max(1, real.length)]);
  try {
    return await start();
  } finally {
    os.cpus = cpus;
  }
}

/**
 * While `start` runs, the global `Worker` is `WorkerClass` (emscripten's pthread pool calls
 * `new Worker(path)` from its factory). Emscripten also assigns `global.Worker`; that assignment
 * is absorbed, and the runtime's own `Worker` is restored afterwards.
 */
export async function _withGlobalWorker<T>(
  WorkerClass: new (path: string) => unknown,
  start: () => Promise<T>,
): Promise<T> {
  _checkTfjsVersion();
  const saved = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => WorkerClass,
    set: () => {},
  });
  try {
    return await start();
  } finally {
    if (saved) Object.defineProperty(globalThis, "Worker", saved);
    else delete (globalThis as Record<string, unknown>).Worker;
  }
}

/** The part of TF.js's wasm backend that the reaches below use. */
interface WasmBackendInternals {
  dataIdMap: { get(dataId: tf.DataId): { id: number; memoryOffset: number } };
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(
    shape: number[],
    dtype: "float32",
    memoryOffset?: number,
    values?: Float32Array,
  ): tf.TensorInfo;
  wasm: {
    tfjs: {
      disposeData(id: number): void;
      registerTensor(id: number, size: number, memoryOffset: number): void;
    };
  };
}

/**
 * The values of a tensor on a wasm backend, as a view of the wasm heap (valid until the heap
 * next grows): a kernel may read them, or write them when it is the tensor's only holder and
 * then calls {@linkcode _wasmValuesWritten}.
 */
export function _wasmHeapValues(
  backend: unknown,
  t: tf.TensorInfo,
): Float32Array | Int32Array | Uint8Array {
  _checkTfjsVersion();
  return (backend as WasmBackendInternals).typedArrayFromHeap(t);
}

/** A new float32 tensor with `values` on a wasm backend (its heap may grow). */
export function _wasmOutput(
  backend: unknown,
  shape: number[],
  values: Float32Array,
): tf.TensorInfo {
  _checkTfjsVersion();
  return (backend as WasmBackendInternals).makeOutput(shape, "float32", undefined, values);
}

/**
 * Tells a wasm backend's C++ side that a tensor's values changed in place: what it derived from
 * them per tensor id (XNNPACK's packed convolution and matmul weights) goes, as on disposal,
 * and the id is registered again over the same memory (disposal frees memory only from
 * JavaScript).
 */
export function _wasmValuesWritten(backend: unknown, t: tf.TensorInfo): void {
  _checkTfjsVersion();
  const b = backend as WasmBackendInternals;
  const { id, memoryOffset } = b.dataIdMap.get(t.dataId);
  b.wasm.tfjs.disposeData(id);
  b.wasm.tfjs.registerTensor(id, t.shape.reduce((p, q) => p * q, 1), memoryOffset);
}
