/**
 * The gradient of the fused group-norm kernel, registered once on first use.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { GROUP_NORM, GROUP_NORM_GRAD } from "./_fused_kernels.ts";

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
