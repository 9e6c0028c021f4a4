/**
 * Names and attributes of the fused optimiser kernels that backends may provide (see
 * `src/backends/optimizer_kernels.ts`). The core owns them, as it owns the group-norm kernel
 * names in `src/nn/_fused_kernels.ts`, so that backends import the core and never the other
 * way round. None has a gradient: the optimiser runs outside the tape.
 *
 * @module
 */

/**
 * One Adam step: inputs `w`, `g`, `m`, `v` (float32, equal sizes); outputs `[w', m', v']`.
 * The same float32 operations, in the same order, as the composition in `adamUpdate`.
 */
export const ADAM = "DdpmAdam";
/** One EMA step: inputs `e`, `w`; output `e' = decay * e + (1 - decay) * w`. */
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
  /** Multiplies the gradient first (the clipping factor); 1 for none. */
  gradScale: number;
};

/** Attributes of {@linkcode EMA}. */
export type EmaAttrs = {
  decay: number;
};
