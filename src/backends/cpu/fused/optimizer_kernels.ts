/**
 * The fused optimiser kernels for TF.js's cpu-family backends.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  ADAM,
  ADAM_ALL,
  type AdamAllAttrs,
  type AdamAttrs,
  EMA,
  EMA_ALL,
  type EmaAllAttrs,
  type EmaAttrs,
  SUM_SQUARES,
  SUM_SQUARES_ALL,
  type SumSquaresAllAttrs,
} from "../../../kernels/_optimizer.ts";
import {
  _float32Values,
  _input,
  _makeFloat32,
  _outputAlloc,
  _replaceFloat32,
  _writableFloat32,
} from "../_cpu_family.ts";
import { _forgetGroupStats } from "./_group_stats_memo.ts";
import { _withScratch } from "../_scratch.ts";
import { type _RangeTask, _rangeThreads, _runRangeTasks } from "../_range_tasks.ts";
import { _adamStep, _emaStep, _sumSquares } from "./_optimizer_math.ts";

/**
 * Registers `DdpmAdam`, `DdpmEma` and `DdpmSumSquares`, and their forms over every weight at
 * once (`DdpmAdamAll`, `DdpmEmaAll`, `DdpmSumSquaresAll`), for a backend that keeps float32
 * tensors as Float32Arrays: `cpu` or one extending it. `adamUpdate`, `emaUpdate` and
 * `globalNorm` then make one pass per weight on that backend instead of about ten, in one
 * kernel call per step. Calling it again for the same backend does nothing.
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

// The *All kernels write each result in place where the backend says nobody else can see the
// array (onednn, from the second step on), else into a new array that they make the tensor's
// data: either way no new tensors and no assign, and arrays that readers hold keep their values.
const adamAllKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { count, beta1, beta2, epsilon, stepSize } = attrs as AdamAllAttrs;
  const values = (t: tf.TensorInfo) => _float32Values(backend, t, ADAM_ALL);
  const gradScale = scalarValue(backend, _input(inputs, "scale", ADAM_ALL), ADAM_ALL);
  const target = targets(backend);
  if (gradScale > 0) {
    const tasks: _RangeTask[] = [];
    for (let i = 0; i < count; i++) {
      const [w, g, m, v] = ["w", "g", "m", "v"].map((k) => _input(inputs, k + i, ADAM_ALL));
      checkSizes(ADAM_ALL, w, { g, m, v });
      const arrays = [values(w), values(g), values(m), values(v)];
      tasks.push({
        kernel: "adam",
        arrays: [...arrays, target.of(w), target.of(m), target.of(v)],
        params: [gradScale, beta1, beta2, epsilon, stepSize],
        size: arrays[0].length,
      });
    }
    _runRangeTasks(tasks);
    target.commit();
  }
  return _makeFloat32(backend, [], Float32Array.of(gradScale > 0 ? 1 : 0));
};

const emaAllKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { count, decay } = attrs as EmaAllAttrs;
  const values = (t: tf.TensorInfo) => _float32Values(backend, t, EMA_ALL);
  const apply = inputs.apply ? scalarValue(backend, inputs.apply, EMA_ALL) > 0 : true;
  const target = targets(backend);
  if (apply) {
    const tasks: _RangeTask[] = [];
    for (let i = 0; i < count; i++) {
      const [e, w] = ["e", "w"].map((k) => _input(inputs, k + i, EMA_ALL));
      checkSizes(EMA_ALL, e, { w });
      const arrays = [values(e), values(w), target.of(e)];
      tasks.push({ kernel: "ema", arrays, params: [decay], size: arrays[0].length });
    }
    _runRangeTasks(tasks);
    target.commit();
  }
  return _makeFloat32(backend, [], Float32Array.of(apply ? 1 : 0));
};

/**
 * Where an update writes: `of(t)` gives `t`'s own array when it may be written in place, else
 * a new one; `commit()` then makes the new arrays their tensors' data.
 */
function targets(backend: unknown) {
  const alloc = _outputAlloc(backend);
  let pending: [tf.TensorInfo, Float32Array][] = [];
  return {
    of(t: tf.TensorInfo): Float32Array {
      const own = _writableFloat32(backend, t);
      if (own) {
        _forgetGroupStats(own);
        return own;
      }
      const fresh = alloc(t.shape.reduce((a, b) => a * b, 1));
      pending.push([t, fresh]);
      return fresh;
    },
    commit(): void {
      for (const [t, fresh] of pending) _replaceFloat32(backend, t, fresh);
      pending = [];
    },
  };
}

const sumSquaresAllKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { count } = attrs as SumSquaresAllAttrs;
  const threads = _rangeThreads();
  // A sum per weight and part, added in a fixed order: the same result on every call.
  const sum = _withScratch((scratch) => {
    const sums = scratch.f64(count * threads);
    const tasks: _RangeTask[] = [];
    for (let i = 0; i < count; i++) {
      const x = _float32Values(backend, _input(inputs, `x${i}`, SUM_SQUARES_ALL), SUM_SQUARES_ALL);
      tasks.push({
        kernel: "sumSquares",
        arrays: [x, sums],
        params: [i * threads],
        size: x.length,
      });
    }
    _runRangeTasks(tasks);
    let total = 0;
    for (const s of sums) total += s;
    return total;
  });
  return _makeFloat32(backend, [], Float32Array.of(sum));
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
