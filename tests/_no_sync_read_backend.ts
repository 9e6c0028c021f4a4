// A test backend that forbids synchronous reads, as WebGPU under Deno does (TF.js's webgpu
// backend implements `dataSync` through a canvas, which Deno lacks): TF.js's cpu backend with
// `readSync` throwing unless a kernel is running. Kernels may read their own inputs (that is
// host memory on cpu, and device memory inside a GPU kernel); the library may not.
import * as tf from "@tensorflow/tfjs";

/** The backend's name in TF.js's registry. */
export const NO_SYNC_READ_BACKEND = "cpu-no-sync-read";

/** Thrown by the backend for a synchronous read outside a kernel. */
export class SyncReadError extends Error {
  constructor() {
    super(
      `Synchronous read on "${NO_SYNC_READ_BACKEND}": dataSync, arraySync, bufferSync or ` +
        "print read a device tensor back and block. GPU backends cannot do that under Deno; " +
        "use `await tensor.data()` (once per training step at most).",
    );
    this.name = "SyncReadError";
  }
}

/** Kernels running now; TF.js's cpu kernels read their inputs through `readSync`. */
let kernelDepth = 0;

/** Asynchronous reads (`data()`, `array()`) made on the backend so far. */
export const asyncReads = { count: 0 };

/**
 * Registers the backend (once): every kernel of TF.js's cpu backend, wrapped so that it may
 * read synchronously, except the library's fused `Ddpm*` kernels, so that the composite paths
 * that WebGPU runs are the ones checked.
 *
 * @returns The backend's name, for `tf.setBackend`.
 */
export function registerNoSyncReadBackend(): string {
  if (tf.findBackend(NO_SYNC_READ_BACKEND)) return NO_SYNC_READ_BACKEND;
  const cpu = tf.findBackend("cpu");
  if (!cpu) throw new Error("TF.js's cpu backend is not registered");
  // TF.js does not export its cpu backend class; the registered instance's constructor is it.
  const CpuBackend = cpu.constructor as new () => tf.KernelBackend;
  const cpuReadSync = CpuBackend.prototype.readSync;
  class NoSyncReadBackend extends CpuBackend {
    override readSync(dataId: object): tf.BackendValues {
      if (kernelDepth === 0) throw new SyncReadError();
      return cpuReadSync.call(this, dataId);
    }
    override read(dataId: object): Promise<tf.BackendValues> {
      asyncReads.count++;
      return Promise.resolve(cpuReadSync.call(this, dataId));
    }
  }
  tf.registerBackend(NO_SYNC_READ_BACKEND, () => {
    const b = new NoSyncReadBackend();
    // The cpu backend prints a banner advertising tfjs-node on first use.
    (b as unknown as { firstUse: boolean }).firstUse = false;
    return b;
  }, -1);
  for (const k of tf.getKernelsForBackend("cpu")) {
    if (k.kernelName.startsWith("Ddpm")) continue;
    const kernelFunc: tf.KernelFunc = (args) => {
      kernelDepth++;
      try {
        return k.kernelFunc(args);
      } finally {
        kernelDepth--;
      }
    };
    tf.registerKernel({ ...k, backendName: NO_SYNC_READ_BACKEND, kernelFunc });
  }
  return NO_SYNC_READ_BACKEND;
}
