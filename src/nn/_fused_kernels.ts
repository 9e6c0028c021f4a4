/**
 * Names, attributes and argument checks of the fused kernels that backends may provide
 * (see `src/backends/group_norm_kernels.ts`). The core owns them, as TF.js core owns its
 * kernel names, so that backends import the core and never the other way round.
 *
 * @module
 */

/** Forward group norm (+ swish): inputs `x` (NHWC), `gamma`, `beta`; output `y`. */
export const GROUP_NORM = "DdpmGroupNorm";
/**
 * Backward of {@linkcode GROUP_NORM}: inputs `dy`, `x`, `gamma`, `beta` and optionally the
 * forward's output `y`; outputs `[dx, dgamma, dbeta]`.
 */
export const GROUP_NORM_GRAD = "DdpmGroupNormGrad";
/** Swish `x * sigmoid(x)`: input `x`; output `y`. */
export const SWISH = "DdpmSwish";
/** Backward of {@linkcode SWISH}: inputs `dy`, `x`; output `dx`. */
export const SWISH_GRAD = "DdpmSwishGrad";

/** Attributes of {@linkcode GROUP_NORM} and {@linkcode GROUP_NORM_GRAD}. */
// A type alias, not an interface, so that it is assignable to TF.js's NamedAttrMap.
export type GroupNormAttrs = {
  /** Channel groups; divides the channel count. */
  groups: number;
  /** Added to the biased variance. */
  eps: number;
  /** Whether swish follows the affine transform. */
  swish: boolean;
};

/** Throws a RangeError unless `groups` is a positive integer dividing `channels`. */
export function _checkGroups(channels: number, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1 || channels % groups !== 0) {
    throw new RangeError(`groupNorm groups must divide the ${channels} channels: got ${groups}`);
  }
}
