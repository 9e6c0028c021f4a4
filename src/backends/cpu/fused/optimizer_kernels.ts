/**
 * The fused optimiser kernels for TF.js's cpu-family backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  ADAM,
  type AdamAttrs,
  EMA,
  type EmaAttrs,
  SUM_SQUARES,
} from "../../../kernels/_optimizer.ts";
import { _float32Values, _input, _makeFloat32, _outputAlloc } from "../_cpu_family.ts";
import { _adamStep, _emaStep, _sumSquares } from "./_optimizer_math.ts";

/**
 * Registers `DdpmAdam`, `DdpmEma` and `DdpmSumSquares` for a backend that keeps float32
 * tensors as Float32Arrays: `cpu` or one extending it. `adamUpdate`, `emaUpdate` and
 * `globalNorm` then make one pass per weight on that backend instead of about ten. Calling it
 * again for the same backend does nothing.
 *
 * @param backendName The TF.js backend name, e.g. `"cpu"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { emaUpdate } from "@x/ddpm/train";
 * import { registerOptimizerKernels } from "./optimizer_kernels.ts";
 * await setBackend("cpu");
 * registerOptimizerKernels("cpu");
 * if (!tf.getKernel("DdpmEma", "cpu")) throw new Error("not registered");
 * const ema = new Map([["w", tf.variable(tf.tensor([0]))]]);
 * emaUpdate(ema, new Map([["w", tf.variable(tf.tensor([1]))]]), 0.9);
 * if (Math.abs((await ema.get("w")!.data())[0] - 0.1) > 1e-7) throw new Error();
 * ```
 */
export function registerOptimizerKernels(backendName: string): void {
  const kernels: [string, tf.KernelFunc][] = [
    [ADAM, adamKernel],
    [EMA, emaKernel],
    [SUM_SQUARES, sumSquaresKernel],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (!tf.getKernel(kernelName, backendName)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

const adamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [w, g, m, v, scale] = ["w", "g", "m", "v", "scale"].map((k) => _input(inputs, k, ADAM));
  checkSizes(ADAM, w, { g, m, v });
  const values = (t: tf.TensorInfo) => _float32Values(backend, t, ADAM);
  const alloc = _outputAlloc(backend);
  const gradScale = scalarValue(backend, scale, ADAM);
  // A skipped step (a non-finite loss or norm) leaves every state unchanged.
  const out = gradScale > 0
    ? _adamStep(
      values(w),
      values(g),
      values(m),
      values(v),
      { ...attrs as AdamAttrs, gradScale },
      alloc,
    )
    : { w: copy(values(w), alloc), m: copy(values(m), alloc), v: copy(values(v), alloc) };
  return [
    _makeFloat32(backend, w.shape, out.w),
    _makeFloat32(backend, m.shape, out.m),
    _makeFloat32(backend, v.shape, out.v),
  ];
};

const emaKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const [e, w] = ["e", "w"].map((k) => _input(inputs, k, EMA));
  checkSizes(EMA, e, { w });
  const values = (t: tf.TensorInfo) => _float32Values(backend, t, EMA);
  const alloc = _outputAlloc(backend);
  const apply = inputs.apply ? scalarValue(backend, inputs.apply, EMA) > 0 : true;
  const out = apply
    ? _emaStep(values(e), values(w), (attrs as EmaAttrs).decay, alloc)
    : copy(values(e), alloc);
  return _makeFloat32(backend, e.shape, out);
};

/** `a` copied into an array from `alloc`. */
function copy(a: Float32Array, alloc: (n: number) => Float32Array): Float32Array {
  const out = alloc(a.length);
  out.set(a);
  return out;
}

/** The value of a one-element float32 input: on a cpu-family backend, host memory. */
function scalarValue(backend: unknown, t: tf.TensorInfo, kernel: string): number {
  const values = _float32Values(backend, t, kernel);
  if (values.length !== 1) {
    throw new TypeError(`${kernel} needs a scalar: got shape [${t.shape}]`);
  }
  return values[0];
}

const sumSquaresKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const x = _input(inputs, "x", SUM_SQUARES);
  const sum = _sumSquares(_float32Values(backend, x, SUM_SQUARES));
  return _makeFloat32(backend, [], Float32Array.of(sum));
};

/** Throws a TypeError unless every tensor in `others` has as many values as `first`. */
function checkSizes(
  kernel: string,
  first: tf.TensorInfo,
  others: Record<string, tf.TensorInfo>,
): void {
  const size = (t: tf.TensorInfo) => t.shape.reduce((p, q) => p * q, 1);
  for (const [name, t] of Object.entries(others)) {
    if (size(t) !== size(first)) {
      throw new TypeError(
        `${kernel} input ${name} must have ${size(first)} values: got shape ${t.shape}`,
      );
    }
  }
}
