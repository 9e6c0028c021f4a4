/**
 * The fused swish kernel's contract: its names and gradient (registered once on first use).
 * `nn/activations.ts` calls it; each backend's kernels implement it.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Swish `x * sigmoid(x)`: input `x`; output `y`. */
export const SWISH = "DdpmSwish";
/** Backward of {@linkcode SWISH}: inputs `dy`, `x`; output `dx`. */
export const SWISH_GRAD = "DdpmSwishGrad";

/** Registers the gradient of `DdpmSwish` unless it is registered already (before the forward). */
export function _ensureSwishGradient(): void {
  if (tf.getGradient(SWISH)) return;
  tf.registerGradient({
    kernelName: SWISH,
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({
      x: () => tf.engine().runKernel(SWISH_GRAD, { dy: dy as tf.Tensor, x }) as tf.Tensor,
    }),
  });
}
