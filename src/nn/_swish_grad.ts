/**
 * The gradient of the fused swish kernel, registered once on first use.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { SWISH, SWISH_GRAD } from "./_fused_kernels.ts";

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
