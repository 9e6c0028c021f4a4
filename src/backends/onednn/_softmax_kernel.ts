/**
 * TF.js's `Softmax` kernel on oneDNN for the last axis of float32 tensors; the gradient is
 * TF.js's own (it needs only the output).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { _floats, type _OneDnnBackendLike, _withFallback } from "./_kernel_util.ts";

/**
 * The softmax kernel for backend `name`.
 *
 * @param name The backend name.
 * @returns The kernel config.
 */
export function softmaxKernel(name: string): tf.KernelConfig {
  return _withFallback("Softmax", name, ({ inputs, backend, attrs }) => {
    const { logits } = inputs as { logits: tf.TensorInfo };
    const { dim } = attrs as unknown as { dim: number };
    const rank = logits.shape.length;
    if (logits.dtype !== "float32" || rank === 0 || (dim !== -1 && dim !== rank - 1)) {
      return undefined;
    }
    const cols = logits.shape[rank - 1];
    const rows = logits.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const b = backend as _OneDnnBackendLike;
    const y = b.onednn.softmax.forward(rows, cols, _floats(b, logits));
    return b.makeTensorInfo(logits.shape, "float32", y);
  });
}
