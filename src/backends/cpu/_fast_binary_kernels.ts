/**
 * Fast paths of the elementwise binary kernels for float32 operands of the same shape, or
 * one of them broadcast along a block of adjacent dims: a scalar, `[C]` or `[1, 1, 1, C]`
 * against `[N, H, W, C]` (trailing), `[N, 1, 1, 1]` (leading), `[N, 1, 1, C]` (middle), in
 * either order. Other broadcasts, such as `[2, 1, 3]` with `[1, 4, 1]`, use TF.js's kernels.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _middleBlock } from "./_axis_block.ts";
import { _BINARY_LOOPS, type _BinaryLoops } from "./_binary_loops.ts";
import { _makeFloat32, _outputAlloc } from "./_cpu_family.ts";
import { type _FastKernel, _float32OrUndefined } from "./_cpu_values.ts";
import { _SAME_SHAPE_OPS } from "./_range_kernels.ts";
import { _runRangeTasks } from "./_range_tasks.ts";

function binary(name: string, loops: _BinaryLoops): _FastKernel {
  const op = (_SAME_SHAPE_OPS as readonly string[]).indexOf(name);
  if (op < 0) throw new Error(`${name} has broadcast loops but no binarySame op`);
  return ({ inputs, backend }) => {
    const { a, b } = inputs;
    const av = _float32OrUndefined(backend, a), bv = _float32OrUndefined(backend, b);
    if (!a || !b || !av || !bv) return undefined;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = shape.reduce((p, d) => p * d, 1);
    if (size === 0) return undefined;
    const out = _outputAlloc(backend)(size);
    if (av.length === size && bv.length === size) {
      // Large ones are shared with the helper threads where the backend runs them.
      _runRangeTasks([{ kernel: "binarySame", arrays: [av, bv, out], params: [op], size }]);
    } else if (av.length === size || bv.length === size) {
      const small = av.length === size ? b.shape : a.shape;
      // The small operand's dims, right-aligned with the output's; missing ones are 1.
      const lead = shape.length - small.length;
      const block = _middleBlock(shape, (i) => i < lead || small[i - lead] === 1);
      if (!block) return undefined;
      const { outer, mid, inner } = block;
      if (av.length === size) loops.smallB(av, bv, out, outer, mid, inner);
      else loops.smallA(av, bv, out, outer, mid, inner);
    } else {
      return undefined;
    }
    return _makeFloat32(backend, shape, out);
  };
}

/** The binary kernels' fast paths, by TF.js kernel name. */
export const _BINARY_KERNELS: Record<string, _FastKernel> = Object.fromEntries(
  Object.entries(_BINARY_LOOPS).map(([name, loops]) => [name, binary(name, loops)]),
);
