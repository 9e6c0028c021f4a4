/**
 * The kernels that helper threads run: each computes indices `lo` to `hi - 1` of one task,
 * from typed arrays and numbers only, so that a task crosses to another thread as pointers
 * and parameters (`_helper_threads.ts`). The calling thread runs the same functions on its
 * own part, so a result does not depend on which thread computed it.
 *
 * This module and what it imports must stay free of TensorFlow.js: every helper thread
 * loads it.
 *
 * @module
 */
import { _adamInto, _emaInto, _sumSquares } from "./fused/_optimizer_math.ts";
import {
  _channelSumsRange,
  _groupNormGradApplyRange,
  _groupNormGradSumsRange,
} from "./fused/_group_norm_ranges.ts";
import { _binarySameSimd } from "./simd/_elementwise_simd.ts";

/** An array a range kernel reads or writes. */
export type _RangeArray = Float32Array | Float64Array;

/**
 * A kernel over indices `lo` to `hi - 1`; `part` numbers the pieces of one task from 0, for
 * kernels that leave a partial result per piece.
 */
export type _RangeKernel = (
  arrays: _RangeArray[],
  params: number[],
  lo: number,
  hi: number,
  part: number,
) => void;

const f32 = (a: _RangeArray) => a as Float32Array;
/** Layout parameters as small integers: as doubles they would make each loop index one. */
const dims = (p: number[]) => ({ n: p[0] | 0, hw: p[1] | 0, c: p[2] | 0 });
const f64 = (a: _RangeArray) => a as Float64Array;

/** The kernels by name. Their order numbers them across threads: append, never reorder. */
export const _RANGE_KERNELS = {
  /** Arrays `w g m v w' m' v'`; params `gradScale beta1 beta2 epsilon stepSize`. */
  adam: (a, p, lo, hi) => {
    const [gradScale, beta1, beta2, epsilon, stepSize] = p;
    const out = { w: f32(a[4]), m: f32(a[5]), v: f32(a[6]) };
    const attrs = { gradScale, beta1, beta2, epsilon, stepSize };
    _adamInto(f32(a[0]), f32(a[1]), f32(a[2]), f32(a[3]), attrs, out, lo, hi);
  },
  /** Arrays `e w out`; params `decay`. */
  ema: (a, p, lo, hi) => _emaInto(f32(a[0]), f32(a[1]), p[0], f32(a[2]), lo, hi),
  /** Arrays `x sums`; params `slot`: the part's sum goes to `sums[slot + part]`. */
  sumSquares: (a, p, lo, hi, part) => {
    f64(a[1])[(p[0] | 0) + part] = _sumSquares(f32(a[0]), lo, hi);
  },
  /** Arrays `x shift sum sumSq`; params `n hw c`; indices are pixels. */
  channelSums: (a, p, lo, hi, part) => {
    const d = dims(p);
    _channelSumsRange(f32(a[0]), f64(a[1]), f64(a[2]), f64(a[3]), d, lo, hi, part);
  },
  /**
   * Arrays `dy x gamma beta y r mu dx sumDz sumDzXh`; params `n hw c swish hasY`; indices are
   * pixels.
   */
  groupNormGradSums: (a, p, lo, hi, part) => {
    const d = dims(p);
    const inp = {
      dy: f32(a[0]),
      x: f32(a[1]),
      gamma: f32(a[2]),
      beta: f32(a[3]),
      y: p[4] ? f32(a[4]) : undefined,
      swish: p[3] !== 0,
    };
    _groupNormGradSumsRange(
      inp,
      f64(a[5]),
      f64(a[6]),
      f32(a[7]),
      f64(a[8]),
      f64(a[9]),
      d,
      lo,
      hi,
      part,
    );
  },
  /** Arrays `x dx a bx mu d1`; params `n hw c`; indices are pixels. */
  groupNormGradApply: (a, p, lo, hi) => {
    const coef = { a: f64(a[2]), bx: f64(a[3]), mu: f64(a[4]), d1: f64(a[5]) };
    _groupNormGradApplyRange(f32(a[0]), f32(a[1]), coef, dims(p), lo, hi);
  },
  /**
   * Arrays `a b out` of one shape; params: the op's position in {@linkcode _SAME_SHAPE_OPS}.
   * Float64 arithmetic rounded once to float32, as TF.js's cpu kernels do it.
   */
  binarySame: (arr, p, lo, hi) => {
    const a = f32(arr[0]), b = f32(arr[1]), out = f32(arr[2]), op = _SAME_SHAPE_OPS[p[0]];
    // The SIMD kernel takes what it can (the same bits); the loops do the rest, one loop per op
    // so that each stays monomorphic with its arithmetic inlined.
    const from = _binarySameSimd(op, a, b, out, lo, hi);
    switch (op) {
      case "Add":
        for (let i = from; i < hi; i++) out[i] = a[i] + b[i];
        break;
      case "Sub":
        for (let i = from; i < hi; i++) out[i] = a[i] - b[i];
        break;
      case "Multiply":
        for (let i = from; i < hi; i++) out[i] = a[i] * b[i];
        break;
      case "RealDiv":
        for (let i = from; i < hi; i++) out[i] = a[i] / b[i];
        break;
      case "SquaredDifference":
        for (let i = from; i < hi; i++) out[i] = (a[i] - b[i]) * (a[i] - b[i]);
        break;
      case "Maximum":
        for (let i = from; i < hi; i++) out[i] = Math.max(a[i], b[i]);
        break;
      case "Minimum":
        for (let i = from; i < hi; i++) out[i] = Math.min(a[i], b[i]);
        break;
      default:
        throw new RangeError(`binarySame: no op number ${p[0]}`);
    }
  },
} satisfies Record<string, _RangeKernel>;

/** The elementwise ops of `binarySame`, numbered by position. */
export const _SAME_SHAPE_OPS = [
  "Add",
  "Sub",
  "Multiply",
  "RealDiv",
  "SquaredDifference",
  "Maximum",
  "Minimum",
] as const;

/** A kernel's name. */
export type _RangeKernelName = keyof typeof _RANGE_KERNELS;

/** The kernels in the order that numbers them. */
export const _RANGE_KERNEL_NAMES = Object.keys(_RANGE_KERNELS) as _RangeKernelName[];
