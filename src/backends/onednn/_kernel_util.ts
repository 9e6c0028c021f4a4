/**
 * What every oneDNN kernel shares: reaching the typed arrays behind tensors, and falling back
 * to TF.js's plain-JS kernel for inputs the native path does not take.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ConvPrimitives } from "./_conv.ts";
import type { DnnlRuntime } from "./_lib.ts";
import type { LowpCache } from "./_lowp_cache.ts";
import type { MatMulPrimitives } from "./_matmul.ts";
import type { ScaleShiftPrimitives } from "./_scale_shift.ts";
import type { SoftmaxPrimitives } from "./_softmax.ts";
import { UnsupportedByOneDnn } from "./_primitive.ts";

/** The native state a oneDNN backend instance carries. */
export interface _OneDnnState {
  rt: DnnlRuntime;
  lowp: LowpCache;
  conv: ConvPrimitives;
  matmul: MatMulPrimitives;
  softmax: SoftmaxPrimitives;
  scaleShift: ScaleShiftPrimitives;
}

/** The parts of the backend (TF.js's cpu backend plus native state) that kernels use. */
export interface _OneDnnBackendLike extends tf.KernelBackend {
  onednn: _OneDnnState;
  data: { get(id: tf.DataId): { values: unknown } };
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
}

/**
 * The float32 array holding a tensor's values.
 *
 * @param b The backend.
 * @param t The tensor.
 * @returns Its values (not a copy).
 */
export function _floats(b: _OneDnnBackendLike, t: tf.TensorInfo): Float32Array {
  return b.data.get(t.dataId).values as Float32Array;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * A kernel config for `backendName` that runs `native`, and TF.js's cpu kernel of the same name
 * when `native` returns undefined or oneDNN cannot build the primitive.
 *
 * @param kernelName The TF.js kernel.
 * @param backendName The backend to register under.
 * @param native The fast path.
 * @returns The config.
 */
export function _withFallback(
  kernelName: string,
  backendName: string,
  native: (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[] | undefined,
): tf.KernelConfig {
  const cpu = tf.getKernel(kernelName, "cpu");
  if (!cpu) throw new Error(`internal: TF.js's cpu backend has no ${kernelName} kernel`);
  const fallback = cpu.kernelFunc;
  return {
    kernelName,
    backendName,
    kernelFunc: (args: KernelArgs) => {
      try {
        return native(args) ?? fallback(args);
      } catch (err) {
        if (err instanceof UnsupportedByOneDnn) return fallback(args);
        throw err;
      }
    },
  };
}
