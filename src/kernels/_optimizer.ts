/**
 * The fused optimiser kernels' contract: names and attributes. `train/optimizer.ts` calls them
 * (with a composed fallback); each backend's kernels implement them. None has a gradient: the
 * optimiser runs outside the tape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * One Adam step: inputs `w`, `g`, `m`, `v` (float32, equal sizes) and `scale` (a float32
 * scalar that multiplies the gradient first: the clipping factor); outputs `[w', m', v']`.
 * The same float32 operations, in the same order, as the composition in `adamUpdate`. A
 * `scale` that is not > 0 (a skipped step) returns copies of `w`, `m`, `v`.
 */
export const ADAM = "DdpmAdam";
/**
 * One EMA step: inputs `e`, `w` and optionally `apply` (a float32 scalar); output
 * `e' = decay * e + (1 - decay) * w`, or a copy of `e` where `apply` is given and not > 0.
 */
export const EMA = "DdpmEma";
/** Input `x`; output a float32 scalar: the sum of `x^2`, accumulated in float64. */
export const SUM_SQUARES = "DdpmSumSquares";

/** Attributes of {@linkcode ADAM}. A type alias so that it is assignable to NamedAttrMap. */
export type AdamAttrs = {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** The learning rate with Adam's bias correction folded in. */
  stepSize: number;
};

/** Attributes of {@linkcode EMA}. */
export type EmaAttrs = {
  decay: number;
};

/**
 * Adam over many weights in one call, the step {@linkcode ADAM} takes for each: inputs `scale`
 * and, for `i` from 0 to `count - 1`, `w{i}`, `g{i}`, `m{i}` and `v{i}`. It makes no new tensors:
 * it replaces the values of every `w{i}`, `m{i}` and `v{i}`, which must each hold their data
 * alone (a variable's, see {@linkcode _ownsData}), and returns a float32 scalar to dispose. One
 * call per step instead of one per weight: a small model's optimiser is otherwise mostly
 * per-call cost (182 weights in the tiny preset).
 */
export const ADAM_ALL = "DdpmAdamAll";
/**
 * {@linkcode EMA} over many weights in one call: inputs `e{i}` and `w{i}` for `i` below `count`,
 * and optionally `apply`; replaces the values of every `e{i}` (each must hold its data alone)
 * and returns a float32 scalar to dispose.
 */
export const EMA_ALL = "DdpmEmaAll";
/** Inputs `x{i}` for `i` below `count`; output a float32 scalar: the sum of all their squares. */
export const SUM_SQUARES_ALL = "DdpmSumSquaresAll";

/** Attributes of {@linkcode ADAM_ALL}. */
export type AdamAllAttrs = AdamAttrs & { count: number };
/** Attributes of {@linkcode EMA_ALL}. */
export type EmaAllAttrs = EmaAttrs & { count: number };
/** Attributes of {@linkcode SUM_SQUARES_ALL}. */
export type SumSquaresAllAttrs = { count: number };

/**
 * Gives each variable data of its own where another tensor shares it (a variable made from a
 * tensor that is still alive, a `clone` of a weight), so that the kernels over all weights may
 * replace its values without another tensor seeing the change. A copy the first time, nothing
 * after.
 */
export function _ownData(variables: Iterable<tf.Variable>): void {
  const backend = tf.engine().backend as { refCount?(dataId: tf.DataId): number };
  for (const v of variables) {
    if (backend.refCount?.(v.dataId) === 1) continue;
    // A multiplication by 1, not a clone: a clone would share the data again.
    tf.tidy(() => v.assign(tf.mul(v, tf.scalar(1, v.dtype))));
  }
}
