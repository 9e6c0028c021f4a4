/**
 * Reading a tensor's values on a cpu-family backend for a kernel that has a fallback.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/**
 * The Float32Array behind `t` on a cpu-family backend, or undefined when `t` is not float32
 * (int32, bool, complex64, string): the caller then hands the call to TF.js's own kernel.
 */
export function _float32OrUndefined(
  backend: unknown,
  t: tf.TensorInfo | undefined,
): Float32Array | undefined {
  if (t?.dtype !== "float32") return undefined;
  const { values } = (backend as { data: { get(id: tf.DataId): { values?: unknown } } }).data
    .get(t.dataId);
  return values instanceof Float32Array ? values : undefined;
}

/**
 * A kernel's fast path: its result, or undefined to hand the call to TF.js's own kernel
 * (which then also raises any error about the arguments).
 */
export type _FastKernel = (args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs: tf.NamedAttrMap;
}) => tf.TensorInfo | tf.TensorInfo[] | undefined;
