/**
 * The fused optimiser kernels' contract: names and attributes. `train/optimizer.ts` calls them
 * (with a composed fallback); each backend's kernels implement them. None has a gradient: the
 * optimiser runs outside the tape.
 *
 * @module
 */

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
