/**
 * Access to tensor data on TF.js's cpu-family backends: `cpu` and the backends that extend
 * it, which keep every float32 tensor as a plain Float32Array.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BufferPool } from "./_buffer_pool.ts";

/** The part of MathBackendCPU the fused kernels use. */
interface CpuFamilyBackend {
  data: { get(dataId: tf.DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo;
}

/** Makes a Float32Array of `n` elements for a caller that writes every element. */
export type _Alloc = (n: number) => Float32Array;

/** A fresh array each time: the allocator of the pure functions when none is given. */
export const _newFloats: _Alloc = (n) => new Float32Array(n);

/**
 * The allocator for kernel outputs written in full on `backend`: recycled, uninitialised
 * buffers where the backend has a {@linkcode BufferPool}, else fresh arrays.
 */
export function _outputAlloc(backend: unknown): _Alloc {
  const pool = (backend as { bufferPool?: BufferPool }).bufferPool;
  return pool ? (n) => pool.take(n, false) : _newFloats;
}

/** The input `name` of a kernel call; TF.js types every input as possibly missing. */
export function _input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new TypeError(`${kernel} needs an input named ${name}`);
  return t;
}

/**
 * The Float32Array behind `t`, read the way TF.js's own cpu kernels read it (the data store
 * moves data from another backend on first access).
 */
export function _float32Values(backend: unknown, t: tf.TensorInfo, kernel: string): Float32Array {
  const values = (backend as CpuFamilyBackend).data.get(t.dataId).values;
  if (t.dtype !== "float32" || !(values instanceof Float32Array)) {
    throw new TypeError(
      `${kernel} needs float32 tensors held as Float32Array (a cpu-family backend): got ${t.dtype}`,
    );
  }
  return values;
}

/** A new float32 tensor on `backend` that takes ownership of `values`. */
export function _makeFloat32(
  backend: unknown,
  shape: number[],
  values: Float32Array,
): tf.TensorInfo {
  return (backend as CpuFamilyBackend).makeTensorInfo(shape, "float32", values);
}

/**
 * The values of `t` when a kernel may overwrite them in place, on a backend that tracks who
 * can see its arrays (onednn's `writableValues`); undefined where it cannot tell (the stock cpu
 * backend) or someone else can. A kernel then writes into a new array and
 * {@linkcode _replaceFloat32}s.
 */
export function _writableFloat32(backend: unknown, t: tf.TensorInfo): Float32Array | undefined {
  const b = backend as { writableValues?(dataId: tf.DataId): Float32Array | undefined };
  return b.writableValues?.(t.dataId);
}

/**
 * Makes `values` the data of the tensor `t` in place of its old array, for a kernel that
 * updates a variable without making a new tensor (see `ADAM_ALL`). The old array is never
 * written, so whoever read it before (`dataSync`, a checkpoint) keeps what it read. A backend
 * that caches per array (onednn's bf16 copies, its buffer pool) does so through its own
 * `replaceValues`.
 */
export function _replaceFloat32(backend: unknown, t: tf.TensorInfo, values: Float32Array): void {
  const b = backend as CpuFamilyBackend & {
    replaceValues?(dataId: tf.DataId, values: Float32Array): void;
  };
  if (b.replaceValues) b.replaceValues(t.dataId, values);
  else b.data.get(t.dataId).values = values;
}
