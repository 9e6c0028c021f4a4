/**
 * Elementwise binary loops over Float32Arrays for the broadcasts a UNet does, one compiled
 * function per op and pattern so that every loop stays monomorphic: V8 inlines the arithmetic
 * and no closure runs per element. The loops are generated from one template per pattern so
 * that the seven ops cannot drift apart.
 *
 * Arithmetic is in float64 rounded once to float32, exactly as TF.js's cpu kernels do it, so
 * results are bit-identical to theirs.
 *
 * @module
 */
import type { _SAME_SHAPE_OPS } from "./_range_kernels.ts";

/**
 * The broadcast loops of one op `f(x, y)`; `out` has the full shape. Operands of the same shape
 * go through the `binarySame` range kernel (`_range_kernels.ts`), which helper threads share.
 */
export interface _BinaryLoops {
  /** `a` is `[outer, mid, inner]`, `b` is `[outer, inner]` repeated along mid. */
  smallB(a: Float32Array, b: Float32Array, out: Float32Array, ...block: Block): void;
  /** `b` is `[outer, mid, inner]`, `a` is `[outer, inner]` repeated along mid. */
  smallA(a: Float32Array, b: Float32Array, out: Float32Array, ...block: Block): void;
}
type Block = [outer: number, mid: number, inner: number];

/** Each op as an expression in `x` (from a) and `y` (from b), as TF.js's cpu kernels write it. */
const OPS = {
  Add: "x + y",
  Sub: "x - y",
  Multiply: "x * y",
  RealDiv: "x / y",
  SquaredDifference: "(x - y) * (x - y)",
  Maximum: "Math.max(x, y)",
  Minimum: "Math.min(x, y)",
} as const satisfies Record<(typeof _SAME_SHAPE_OPS)[number], string>;

/** The kernel names with fast binary loops. */
export type _BinaryOp = keyof typeof OPS;

/** FULL is the operand of full shape, read into FV; SMALL the repeated one, read into SV. */
const BROADCAST = `
let k = 0;
if (inner === 1) {
  for (let o = 0; o < outer; o++) {
    const SV = SMALL[o];
    for (let m = 0; m < mid; m++, k++) { const FV = FULL[k]; out[k] = OP; }
  }
  return;
}
for (let o = 0; o < outer; o++) {
  const row = o * inner;
  for (let m = 0; m < mid; m++) {
    for (let i = 0; i < inner; i++, k++) { const FV = FULL[k], SV = SMALL[row + i]; out[k] = OP; }
  }
}`;
const SMALL_B = { FULL: "a", FV: "x", SMALL: "b", SV: "y" };
const SMALL_A = { FULL: "b", FV: "y", SMALL: "a", SV: "x" };

/** A function of `params` running `body` with its tokens replaced. */
function compile(body: string, tokens: Record<string, string>, params: string[]) {
  for (const [token, text] of Object.entries(tokens)) body = body.replaceAll(token, text);
  // One Function per op and pattern: the point is a separate, monomorphic loop for each.
  return new Function(...params, body);
}

/** The loops of every op with a fast path, keyed by TF.js kernel name. */
export const _BINARY_LOOPS: Record<_BinaryOp, _BinaryLoops> = Object.fromEntries(
  Object.entries(OPS).map(([name, op]) => {
    const params = ["a", "b", "out", "outer", "mid", "inner"];
    return [name, {
      smallB: compile(BROADCAST, { ...SMALL_B, OP: op }, params),
      smallA: compile(BROADCAST, { ...SMALL_A, OP: op }, params),
    } as _BinaryLoops];
  }),
) as Record<_BinaryOp, _BinaryLoops>;
