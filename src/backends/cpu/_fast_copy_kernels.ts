/**
 * Fast paths of the copying kernels `Concat`, `SplitV` and `Slice` for float32.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _axisBlock } from "./_axis_block.ts";
import { _makeFloat32, _outputAlloc } from "./_cpu_family.ts";
import { type _FastKernel, _float32OrUndefined } from "./_cpu_values.ts";
import { _concatRows, _sliceRuns, _splitRows } from "./_copy_runs.ts";

const concat: _FastKernel = ({ inputs, backend, attrs }) => {
  // TF.js passes Concat's inputs as an array.
  const parts = Object.values(inputs) as tf.TensorInfo[];
  const values = parts.map((t) => _float32OrUndefined(backend, t));
  if (parts.length < 2 || !values.every((v) => v?.length)) return undefined;
  const shape = parts[0].shape;
  const axis = tf.util.parseAxisParam(attrs.axis as number, shape)[0];
  const fits = (s: number[]) =>
    s.length === shape.length && s.every((d, i) => i === axis || d === shape[i]);
  if (!parts.every((t) => fits(t.shape))) return undefined;
  const { outer } = _axisBlock(shape, axis);
  const widths = values.map((v) => v!.length / outer);
  const outShape = shape.slice();
  outShape[axis] = parts.reduce((p, t) => p + t.shape[axis], 0);
  return _makeFloat32(
    backend,
    outShape,
    _concatRows(values as Float32Array[], widths, outer, _outputAlloc(backend)),
  );
};

const splitV: _FastKernel = ({ inputs, backend, attrs }) => {
  const x = inputs.x;
  const values = _float32OrUndefined(backend, x);
  if (!x || !values?.length) return undefined;
  const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(
    x as tf.Tensor,
    attrs.numOrSizeSplits as number | number[],
    axis,
  );
  const { outer, inner } = _axisBlock(x.shape, axis);
  const parts = _splitRows(values, sizes.map((s) => s * inner), outer, _outputAlloc(backend));
  return parts.map((p, i) => {
    const shape = x.shape.slice();
    shape[axis] = sizes[i];
    return _makeFloat32(backend, shape, p);
  });
};

const slice: _FastKernel = ({ inputs, backend, attrs }) => {
  const x = inputs.x;
  const values = _float32OrUndefined(backend, x);
  if (!x || !values) return undefined;
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as tf.Tensor,
    attrs.begin as number[],
    attrs.size as number[],
  );
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
  // A contiguous slice is a view in TF.js's kernel already, and an empty one costs nothing.
  if (tf.slice_util.isSliceContinous(x.shape, begin, size) || size.includes(0)) {
    return undefined;
  }
  return _makeFloat32(
    backend,
    size,
    _sliceRuns(values, x.shape, begin, size, _outputAlloc(backend)),
  );
};

/** The copying kernels' fast paths, by TF.js kernel name. */
export const _COPY_KERNELS: Record<string, _FastKernel> = {
  Concat: concat,
  SplitV: splitV,
  Slice: slice,
};
