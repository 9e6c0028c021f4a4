/**
 * TF.js kernels `BatchMatMul` and `_FusedMatMul` on oneDNN, falling back to the plain-JS
 * kernels for other dtypes and activations.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _floats, type _OneDnnBackendLike, _withFallback } from "./_kernel_util.ts";
import type { MatMulShape } from "./_matmul.ts";

type Attrs = { transposeA: boolean; transposeB: boolean; activation?: string };

function shapeOf(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  attrs: Attrs,
  bias: tf.TensorInfo | undefined,
): MatMulShape | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2) return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const m = attrs.transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = attrs.transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  // Only the same batch or a broadcast single matrix; other broadcasts fall back.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (bias && bias.shape.join() !== `${n}`) return undefined;
  const activation = attrs.activation ?? "linear";
  if (activation !== "linear" && activation !== "relu") return undefined;
  return {
    batchA,
    batchB,
    m,
    k,
    n,
    transposeA: attrs.transposeA,
    transposeB: attrs.transposeB,
    bias: bias !== undefined,
    relu: activation === "relu",
  };
}

function outShape(a: tf.TensorInfo, b: tf.TensorInfo, s: MatMulShape): number[] {
  const outer = s.batchA >= s.batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
  return [...outer, s.m, s.n];
}

/**
 * The matrix-product kernels for backend `name`.
 *
 * @param name The backend name.
 * @returns Kernel configs to register.
 */
export function matMulKernels(name: string): tf.KernelConfig[] {
  return ["BatchMatMul", "_FusedMatMul"].map((kernelName) =>
    _withFallback(kernelName, name, ({ inputs, backend, attrs }) => {
      const { a, b, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo>;
      if (preluActivationWeights) return undefined;
      const s = shapeOf(a, b, attrs as unknown as Attrs, bias);
      if (!s) return undefined;
      const be = backend as _OneDnnBackendLike;
      const out = be.onednn.matmul.run(
        s,
        _floats(be, a),
        _floats(be, b),
        bias ? _floats(be, bias) : undefined,
      );
      return be.makeTensorInfo(outShape(a, b, s), "float32", out);
    })
  );
}
