/**
 * Fast paths of the pooling kernels `MaxPool` and `AvgPool` for float32 NHWC tensors, the
 * pools of an Inception network (TF.js's generic cpu kernels index every element through a
 * buffer object and take 8 ns per window element; these run over contiguous channels, the
 * window's columns then its rows).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { _makeFloat32 } from "./_cpu_family.ts";
import { type _FastKernel, _float32OrUndefined } from "./_cpu_values.ts";

type PoolAttrs = {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
};

function pool(kind: "max" | "avg"): _FastKernel {
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const values = _float32OrUndefined(backend, x);
    if (!x || !values || x.shape.length !== 4 || values.length === 0) return undefined;
    const a = attrs as unknown as PoolAttrs;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
    const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight, outWidth } = info;
    if (outHeight < 1 || outWidth < 1) return undefined;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { top, left } = info.padInfo;
    const windows = (n: number, size: number, stride: number, pad: number, out: number) =>
      Array.from({ length: out }, (_, o) => {
        const start = o * stride - pad;
        return [Math.max(0, start), Math.min(n, start + size)] as const;
      });
    const rows = windows(h, fh, sh, top, outHeight);
    const cols = windows(w, fw, sw, left, outWidth);
    if (rows.some(([s, e]) => e <= s) || cols.some(([s, e]) => e <= s)) return undefined;
    const reduce = kind === "max" ? maxInto : addInto;
    // Separable: the window's columns first (every input row, each output column), then its
    // rows, which takes fh + fw passes over a channel run per output instead of fh * fw.
    const across = new Float32Array(batchSize * h * outWidth * c);
    for (let b = 0; b < batchSize; b++) {
      for (let y = 0; y < h; y++) {
        const src = (b * h + y) * w * c;
        const dst = (b * h + y) * outWidth * c;
        for (let ox = 0; ox < outWidth; ox++) {
          const [x0, x1] = cols[ox];
          const o = dst + ox * c;
          across.set(values.subarray(src + x0 * c, src + (x0 + 1) * c), o);
          for (let xx = x0 + 1; xx < x1; xx++) reduce(across, o, values, src + xx * c, c);
        }
      }
    }
    const out = new Float32Array(batchSize * outHeight * outWidth * c);
    const run = outWidth * c;
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < outHeight; oy++) {
        const [y0, y1] = rows[oy];
        const o = (b * outHeight + oy) * run;
        const src = b * h * run;
        out.set(across.subarray(src + y0 * run, src + (y0 + 1) * run), o);
        for (let y = y0 + 1; y < y1; y++) reduce(out, o, across, src + y * run, run);
        if (kind === "avg") {
          // TF's average pool divides by the window's elements inside the input only.
          const yCount = y1 - y0;
          for (let ox = 0; ox < outWidth; ox++) {
            const inv = 1 / (yCount * (cols[ox][1] - cols[ox][0]));
            const p = o + ox * c;
            for (let k = 0; k < c; k++) out[p + k] *= inv;
          }
        }
      }
    }
    return _makeFloat32(backend, [batchSize, outHeight, outWidth, c], out);
  };
}

// As TF.js's cpu kernel: a NaN never wins a comparison, so it is skipped.
function maxInto(dst: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  for (let k = 0; k < n; k++) {
    const v = src[s + k];
    if (v > dst[d + k]) dst[d + k] = v;
  }
}

function addInto(dst: Float32Array, d: number, src: Float32Array, s: number, n: number): void {
  for (let k = 0; k < n; k++) dst[d + k] += src[s + k];
}

/** The pooling fast paths by kernel name. */
export const _POOL_KERNELS: Record<string, _FastKernel> = {
  MaxPool: pool("max"),
  AvgPool: pool("avg"),
};
