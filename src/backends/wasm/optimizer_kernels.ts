/**
 * The optimiser's kernels over every weight at once (`DdpmAdamAll`, `DdpmEmaAll`,
 * `DdpmSumSquaresAll`) for TF.js's wasm backends. Without them each weight's Adam step is about
 * ten stock ops and an assign: on the tiny preset, 60 ms of a 600 ms step on one thread.
 *
 * They work on the wasm heap directly, in place: the backend copies out whatever it hands to a
 * reader (`dataSync`, `data`), so nobody outside holds these arrays, and `adamUpdate` passes
 * only variables that hold their data alone. What the wasm side caches per tensor (XNNPACK's
 * packed convolution and matmul weights, keyed by tensor id) is dropped after each write
 * (`_wasmValuesWritten`): without that, convolutions would keep using the old weights.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  ADAM_ALL,
  type AdamAllAttrs,
  EMA_ALL,
  type EmaAllAttrs,
  SUM_SQUARES_ALL,
  type SumSquaresAllAttrs,
} from "../../kernels/_optimizer.ts";
import { _wasmHeapValues, _wasmOutput, _wasmValuesWritten } from "../_tfjs_internals.ts";
import { _adamInto, _emaInto, _sumSquares } from "../cpu/fused/_optimizer_math.ts";

/**
 * Registers the three kernels for the wasm backend `backendName` (once). Threaded wasm
 * backends registered later under other names copy them with the rest of wasm's kernels.
 *
 * @param backendName The TF.js backend name, e.g. `"wasm"`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { registerWasmOptimizerKernels } from "./optimizer_kernels.ts";
 * registerWasmOptimizerKernels("wasm");
 * if (!tf.getKernel("DdpmAdamAll", "wasm")) throw new Error("not registered");
 * ```
 */
export function registerWasmOptimizerKernels(backendName: string): void {
  const kernels: [string, tf.KernelFunc][] = [
    [ADAM_ALL, adamAllKernel],
    [EMA_ALL, emaAllKernel],
    [SUM_SQUARES_ALL, sumSquaresAllKernel],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (!tf.getKernel(kernelName, backendName)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
}

const adamAllKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { count, ...adam } = attrs as AdamAllAttrs;
  const heap = (k: string) => floats(backend, inputs, k, ADAM_ALL);
  const gradScale = heap("scale")[0];
  if (gradScale > 0) {
    for (let i = 0; i < count; i++) {
      const [w, g, m, v] = ["w", "g", "m", "v"].map((k) => heap(k + i));
      checkSizes(ADAM_ALL, i, w, [g, m, v]);
      _adamInto(w, g, m, v, { ...adam, gradScale }, { w, m, v });
      for (const k of ["w", "m", "v"]) _wasmValuesWritten(backend, inputs[k + i]!);
    }
  }
  return scalar(backend, gradScale > 0 ? 1 : 0);
};

const emaAllKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { count, decay } = attrs as EmaAllAttrs;
  const heap = (k: string) => floats(backend, inputs, k, EMA_ALL);
  const apply = inputs.apply ? heap("apply")[0] > 0 : true;
  if (apply) {
    for (let i = 0; i < count; i++) {
      const [e, w] = [heap(`e${i}`), heap(`w${i}`)];
      checkSizes(EMA_ALL, i, e, [w]);
      _emaInto(e, w, decay, e);
      _wasmValuesWritten(backend, inputs[`e${i}`]!);
    }
  }
  return scalar(backend, apply ? 1 : 0);
};

const sumSquaresAllKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { count } = attrs as SumSquaresAllAttrs;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    sum += _sumSquares(floats(backend, inputs, `x${i}`, SUM_SQUARES_ALL));
  }
  return scalar(backend, sum);
};

/** The heap view of the float32 input `name`. Valid until the heap next grows. */
function floats(
  backend: unknown,
  inputs: tf.NamedTensorInfoMap,
  name: string,
  kernel: string,
): Float32Array {
  const t = inputs[name];
  if (!t) throw new TypeError(`${kernel} needs an input named ${name}`);
  const values = _wasmHeapValues(backend, t);
  if (!(values instanceof Float32Array)) {
    throw new TypeError(`${kernel} input ${name} must be float32: got ${t.dtype}`);
  }
  return values;
}

/** A new float32 scalar on the heap (which may grow: make it after every view is done). */
function scalar(backend: unknown, value: number): tf.TensorInfo {
  return _wasmOutput(backend, [], Float32Array.of(value));
}

/** Throws a TypeError unless every array in `others` is as long as `first`. */
function checkSizes(kernel: string, i: number, first: Float32Array, others: Float32Array[]) {
  for (const o of others) {
    if (o.length !== first.length) {
      throw new TypeError(
        `${kernel} inputs ${i} differ in size: ${first.length} and ${o.length} values`,
      );
    }
  }
}
