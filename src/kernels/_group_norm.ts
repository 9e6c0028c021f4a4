/**
 * The fused group-norm kernel's contract: its names, attributes, argument check and gradient.
 * `nn/group_norm.ts` calls it; each backend's kernels implement it (`backends/cpu/`,
 * `backends/onednn/`). It lives below both, as TF.js core owns its kernel names, so that
 * neither imports the other.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Forward group norm (+ swish): inputs `x` (NHWC), `gamma`, `beta`; output `y`. */
export const GROUP_NORM = "DdpmGroupNorm";
/**
 * Backward of {@linkcode GROUP_NORM}: inputs `dy`, `x`, `gamma`, `beta` and optionally the
 * forward's output `y`; outputs `[dx, dgamma, dbeta]`.
 */
export const GROUP_NORM_GRAD = "DdpmGroupNormGrad";

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

/**
 * Registers the gradient of `DdpmGroupNorm` unless it is registered already. Must run before
 * the forward kernel: TF.js reads `inputsToSave` when it records the op on the tape.
 */
export function _ensureGroupNormGradient(): void {
  if (tf.getGradient(GROUP_NORM)) return;
  tf.registerGradient({
    kernelName: GROUP_NORM,
    inputsToSave: ["x", "gamma", "beta"],
    // The output is kept for the backward kernel, which can derive sigmoid(z) from it. It
    // costs no memory: the layer after the norm saves it for its own gradient anyway.
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, gamma, beta, y] = saved;
      // One backward kernel yields all three gradients, so it runs here rather than in the
      // per-input thunks. Its outputs live in TF.js's backward tidy, which frees the ones no
      // thunk returns (inputs that need no gradient).
      const [dx, dgamma, dbeta] = tf.engine().runKernel(
        GROUP_NORM_GRAD,
        { dy: dy as tf.Tensor, x, gamma, beta, y },
        attrs,
      ) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}
