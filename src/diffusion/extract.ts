/**
 * Per-timestep lookup of schedule constants for a batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Gathers one value per batch element from a host table indexed by timestep, shaped
 * [batch, 1, ..., 1] so that it broadcasts against a tensor of rank `rank`
 * (lucidrains' `extract(a, t, shape)`). The table is uploaded as float32 for this call only,
 * so callers keep no tensors alive between calls.
 *
 * The timesteps are never read back to the host (GPU backends cannot read synchronously): one
 * outside [0, table.length) gives NaN, so a bad timestep shows up as a NaN image or loss on
 * every backend instead of being silently clamped.
 *
 * @param table One value per training timestep (float64 values are cast to float32).
 * @param t int32 timesteps, one per batch element, each in [0, table.length); others give NaN.
 * @param rank The rank of the tensor the result multiplies; 4 for NHWC images.
 * @returns A float32 tensor of shape [t.size, 1, ..., 1] with `rank` dimensions.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { extract } from "@x/ddpm/diffusion";
 * await setBackend("cpu");
 * const v = extract(new Float64Array([10, 20, 30]), tf.tensor1d([2, 0], "int32"));
 * if (v.shape.join() !== "2,1,1,1") throw new Error(v.shape.join());
 * if ((await v.data()).join() !== "30,10") throw new Error("wrong values");
 * const bad = extract(new Float64Array([10, 20, 30]), tf.tensor1d([3], "int32"));
 * if (!Number.isNaN((await bad.data())[0])) throw new Error("out of range must be NaN");
 * ```
 */
export function extract(table: ArrayLike<number>, t: tf.Tensor1D, rank = 4): tf.Tensor {
  if (t.dtype !== "int32") {
    throw new TypeError(`Cannot index a schedule with timesteps of dtype ${t.dtype}: use int32`);
  }
  return tf.tidy(() => {
    const n = table.length;
    const values = tf.tensor1d(Float32Array.from(table), "float32");
    const shape = [t.size, ...new Array<number>(Math.max(rank - 1, 0)).fill(1)];
    // Gather at a clamped index, then NaN where the index was out of range.
    const inRange = tf.logicalAnd(tf.greaterEqual(t, 0), tf.less(t, n));
    const clamped = tf.clipByValue(t, 0, n - 1);
    const gathered = tf.gather(values, clamped);
    return tf.reshape(tf.where(inRange, gathered, tf.fill(t.shape, NaN)), shape);
  });
}
