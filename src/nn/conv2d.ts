/**
 * 2-D convolution whose gradients are themselves forward convolutions, so that training
 * runs on backends that lack (or are slow at) the backprop kernels, such as `wasm`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { backendCapabilities } from "../kernels/backend_registry.ts";

/**
 * Padding of a convolution: TensorFlow's `"same"` or `"valid"`, or explicit
 * `[[top, bottom], [left, right]]` zero rows and columns.
 */
export type ConvPadding = "same" | "valid" | [[number, number], [number, number]];

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Stride in both spatial directions. Default 1. */
  strides?: number;
  /** Padding. Default `"same"`. */
  pad?: ConvPadding;
  /** Optional per-output-channel bias, shape `[outChannels]`. */
  bias?: tf.Tensor1D;
}

type Pads = [number, number, number, number]; // top, bottom, left, right
type Explicit = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Convolves NHWC `x` with an HWIO `filter` (cross-correlation, like `tf.conv2d`), adding
 * `bias` if given.
 *
 * The gradient is custom: the input gradient is a stride-1 convolution of the (stride-
 * dilated, padded) output gradient with the spatially flipped, in/out-transposed filter, and
 * the filter gradient is a convolution with the batch and channel axes swapped. Both run on
 * the fast forward kernel of every backend; `wasm` has no `Conv2DBackpropFilter` kernel and
 * a slow `Conv2DBackpropInput`.
 *
 * @param x Input, `[batch, height, width, inChannels]`.
 * @param filter Kernel, `[kh, kw, inChannels, outChannels]`.
 * @param opts Stride, padding and bias.
 * @returns The output, `[batch, outHeight, outWidth, outChannels]`.
 *
 * @example Matches tf.conv2d
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { conv2d } from "@x/ddpm/nn";
 * await setBackend("cpu");
 * const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
 * const w = tf.ones([3, 3, 2, 1]) as tf.Tensor4D;
 * const y = conv2d(x, w, { strides: 2, pad: [[0, 1], [0, 1]] });
 * if (y.shape.join() !== "1,2,2,1") throw new Error(y.shape.join());
 * if ((await y.data())[0] !== 18) throw new Error("top-left sees a full 3x3 window");
 * ```
 */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, opts: Conv2dOptions = {}): tf.Tensor4D {
  const strides = opts.strides ?? 1;
  if (x.rank !== 4 || filter.rank !== 4) {
    throw new TypeError(
      `conv2d expects a rank-4 input and filter: got ranks ${x.rank} and ${filter.rank}`,
    );
  }
  if (x.shape[3] !== filter.shape[2]) {
    throw new TypeError(
      `conv2d input has ${x.shape[3]} channels but the filter expects ${filter.shape[2]}`,
    );
  }
  if (!Number.isInteger(strides) || strides < 1) {
    throw new RangeError(`conv2d strides must be a positive integer: got ${strides}`);
  }
  const pads = resolvePads(x.shape, filter.shape, strides, opts.pad ?? "same");
  if (backendCapabilities().nativeConvGradients) {
    return tf.fused.conv2d({ x, filter, strides, pad: explicit(pads), bias: opts.bias });
  }
  const grad = (dy: tf.Tensor4D, xs: tf.Tensor4D, w: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] => [
    inputGrad(dy, w, xs.shape, strides, pads),
    filterGrad(dy, xs, w.shape, strides, pads),
  ];
  if (opts.bias) {
    const f = tf.customGrad((xs, w, b, save) => {
      (save as tf.GradSaveFunc)([xs as tf.Tensor4D, w as tf.Tensor4D]);
      return {
        value: forward(xs as tf.Tensor4D, w as tf.Tensor4D, strides, pads, b as tf.Tensor1D),
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [gx, gw] = grad(dy, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D);
          return [gx, gw, biasGrad(dy)];
        },
      };
    });
    return f(x, filter, opts.bias) as tf.Tensor4D;
  }
  const f = tf.customGrad((xs, w, save) => {
    (save as tf.GradSaveFunc)([xs as tf.Tensor4D, w as tf.Tensor4D]);
    return {
      value: forward(xs as tf.Tensor4D, w as tf.Tensor4D, strides, pads),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) =>
        grad(dy, saved[0] as tf.Tensor4D, saved[1] as tf.Tensor4D),
    };
  });
  return f(x, filter) as tf.Tensor4D;
}

/** Converts any padding to explicit [top, bottom, left, right], TensorFlow's rules for "same". */
function resolvePads(
  xShape: number[],
  wShape: number[],
  strides: number,
  pad: ConvPadding,
): Pads {
  if (pad === "valid") return [0, 0, 0, 0];
  if (pad === "same") {
    const total = (size: number, k: number) =>
      Math.max((Math.ceil(size / strides) - 1) * strides + k - size, 0);
    const th = total(xShape[1], wShape[0]);
    const tw = total(xShape[2], wShape[1]);
    return [
      Math.floor(th / 2),
      th - Math.floor(th / 2),
      Math.floor(tw / 2),
      tw - Math.floor(tw / 2),
    ];
  }
  if (
    !Array.isArray(pad) || pad.length !== 2 ||
    pad.flat().some((p) => !Number.isInteger(p) || p < 0)
  ) {
    throw new RangeError(
      `conv2d pad must be "same", "valid" or [[top, bottom], [left, right]] of non-negative ` +
        `integers: got ${JSON.stringify(pad)}`,
    );
  }
  return [pad[0][0], pad[0][1], pad[1][0], pad[1][1]];
}

function explicit(p: Pads): Explicit {
  return [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]];
}

function forward(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  strides: number,
  pads: Pads,
  bias?: tf.Tensor1D,
): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter: w, strides, pad: explicit(pads), bias });
}

function biasGrad(dy: tf.Tensor4D): tf.Tensor1D {
  return tf.sum(tf.reshape(dy, [-1, dy.shape[3]]), 0);
}

/** Crops `t` by `-p` rows/columns wherever an explicit pad `p` came out negative. */
function cropNegative(t: tf.Tensor4D, p: Pads): [tf.Tensor4D, Pads] {
  if (p.every((v) => v >= 0)) return [t, p];
  const [, h, w] = t.shape;
  const top = Math.max(-p[0], 0), bottom = Math.max(-p[1], 0);
  const left = Math.max(-p[2], 0), right = Math.max(-p[3], 0);
  const cropped = tf.slice(t, [0, top, left, 0], [-1, h - top - bottom, w - left - right, -1]);
  return [cropped, p.map((v) => Math.max(v, 0)) as Pads];
}

/**
 * Inserts `s - 1` zero rows after each row and `s - 1` zero columns after each column,
 * giving size `[n, h * s, w * s, c]`, with two 4-D pads and reshapes.
 */
function dilate(t: tf.Tensor4D, s: number): tf.Tensor4D {
  if (s === 1) return t;
  const [n, h, w, c] = t.shape;
  const cols = tf.pad(tf.reshape(t, [n * h, w, 1, c]), [[0, 0], [0, 0], [0, s - 1], [0, 0]]);
  const rows = tf.pad(tf.reshape(cols, [n, h, 1, w * s * c]), [[0, 0], [0, 0], [0, s - 1], [0, 0]]);
  return tf.reshape(rows, [n, h * s, w * s, c]);
}

function inputGrad(
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  xShape: [number, number, number, number],
  s: number,
  pads: Pads,
): tf.Tensor4D {
  const [kh, kw, ci, co] = w.shape;
  const [, h, wd] = xShape;
  const d = dilate(dy, s);
  const top = kh - 1 - pads[0];
  const left = kw - 1 - pads[2];
  // Chosen so that the stride-1 output is exactly the input's height and width.
  const bottom = h + kh - 1 - top - d.shape[1];
  const right = wd + kw - 1 - left - d.shape[2];
  const [dc, p] = cropNegative(d, [top, bottom, left, right]);
  // Flipping both spatial axes reverses the flattened tap index; a gather does it in one
  // cheap op where wasm's Reverse is slow.
  const taps = tf.reshape(w, [kh * kw, ci, co]);
  const flipped = kh * kw === 1 ? taps : tf.gather(taps, tf.range(kh * kw - 1, -1, -1, "int32"));
  const wt = tf.reshape(tf.transpose(flipped, [0, 2, 1]), [kh, kw, co, ci]);
  return tf.conv2d(dc, wt as tf.Tensor4D, 1, explicit(p));
}

function filterGrad(
  dy: tf.Tensor4D,
  x: tf.Tensor4D,
  wShape: [number, number, number, number],
  s: number,
  pads: Pads,
): tf.Tensor4D {
  const [kh, kw] = wShape;
  const [, h, wd] = x.shape;
  const [, ho, wo] = dy.shape;
  // Batch becomes the contraction (channel) axis and input channels become the batch; the
  // output gradient is the filter, dilated by the stride. (Nine per-tap [co, m] x [m, ci]
  // products measured no faster on wasm: XNNPACK repacks the large operand every call.)
  const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const bottom = kh + (ho - 1) * s - h - pads[0];
  const right = kw + (wo - 1) * s - wd - pads[2];
  const [xc, p] = cropNegative(xt, [pads[0], bottom, pads[2], right]);
  const g = tf.conv2d(xc, dyt, 1, explicit(p), "NHWC", s);
  return tf.transpose(g, [1, 2, 0, 3]);
}
