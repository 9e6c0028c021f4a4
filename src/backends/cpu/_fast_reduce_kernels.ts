/**
 * Fast paths of the reductions `Sum`, `Mean` and `Max` for float32 over axes that are
 * adjacent (a leading block, a trailing block, a middle block such as H and W of NHWC, or
 * all of them).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type _Block, _middleBlock } from "./_axis_block.ts";
import { _makeFloat32 } from "./_cpu_family.ts";
import { type _FastKernel, _float32OrUndefined } from "./_cpu_values.ts";
import { _maxMiddle, _sumMiddle } from "./_reduce_block.ts";

type Reduce = (x: Float32Array, block: _Block) => Float32Array;

/** A reduction kernel whose axes are in the attribute `axisAttr`. */
function reduction(axisAttr: string, reduce: Reduce): _FastKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const values = _float32OrUndefined(backend, x);
    if (!x || !values?.length) return undefined;
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    const block = _middleBlock(x.shape, (i) => axes.includes(i));
    if (!block) return undefined;
    const shape = attrs.keepDims
      ? x.shape.map((d, i) => axes.includes(i) ? 1 : d)
      : x.shape.filter((_, i) => !axes.includes(i));
    return _makeFloat32(backend, shape, reduce(values, block));
  };
}

/** The reductions' fast paths, by TF.js kernel name. */
export const _REDUCE_KERNELS: Record<string, _FastKernel> = {
  Sum: reduction("axis", (x, block) => _sumMiddle(x, block)),
  Mean: reduction("axis", (x, block) => _sumMiddle(x, block, block.mid)),
  Max: reduction("reductionIndices", _maxMiddle),
};
