/**
 * TF.js kernels `Conv2D`, `FusedConv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter`
 * on oneDNN, each falling back to the plain-JS kernel for what oneDNN does not take
 * (dilation, NCHW, other activations).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ConvActivation, ConvShape } from "./_conv.ts";
import { _floats, type _OneDnnBackendLike, _withFallback } from "./_kernel_util.ts";

type Info = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function shapeOf(c: Info): ConvShape | undefined {
  if (c.dilationHeight !== 1 || c.dilationWidth !== 1 || c.dataFormat !== "channelsLast") {
    return undefined;
  }
  return {
    batch: c.batchSize,
    inHeight: c.inHeight,
    inWidth: c.inWidth,
    inChannels: c.inChannels,
    outHeight: c.outHeight,
    outWidth: c.outWidth,
    outChannels: c.outChannels,
    filterHeight: c.filterHeight,
    filterWidth: c.filterWidth,
    strideHeight: c.strideHeight,
    strideWidth: c.strideWidth,
    padTop: c.padInfo.top,
    padLeft: c.padInfo.left,
  };
}

type ConvAttrs = {
  strides: number | [number, number];
  pad: "same" | "valid" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
  activation?: string;
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
};

function info(
  xShape: number[],
  wShape: number[],
  a: ConvAttrs,
): Info {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    wShape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(a.dataFormat),
  );
}

/**
 * The four convolution kernels for backend `name`.
 *
 * @param name The backend name.
 * @returns Kernel configs to register.
 */
export function convKernels(name: string): tf.KernelConfig[] {
  const conv2d = _withFallback("Conv2D", name, ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const s = shapeOf(info(x.shape, filter.shape, attrs as unknown as ConvAttrs));
    if (!s || x.dtype !== "float32") return undefined;
    const b = backend as _OneDnnBackendLike;
    const y = b.onednn.conv.forward(s, _floats(b, x), _floats(b, filter), undefined);
    return b.makeTensorInfo([s.batch, s.outHeight, s.outWidth, s.outChannels], "float32", y);
  });
  const fused = _withFallback("FusedConv2D", name, ({ inputs, backend, attrs }) => {
    const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo>;
    const a = attrs as unknown as ConvAttrs;
    const act = (a.activation ?? "linear") as ConvActivation;
    if ((act !== "linear" && act !== "relu") || preluActivationWeights) return undefined;
    const s = shapeOf(info(x.shape, filter.shape, a));
    // The bias must be one value per output channel to fuse; a broadcast bias falls back.
    if (!s || x.dtype !== "float32" || (bias && bias.shape.join() !== `${s.outChannels}`)) {
      return undefined;
    }
    const b = backend as _OneDnnBackendLike;
    const y = b.onednn.conv.forward(
      s,
      _floats(b, x),
      _floats(b, filter),
      bias ? _floats(b, bias) : undefined,
      act,
    );
    return b.makeTensorInfo([s.batch, s.outHeight, s.outWidth, s.outChannels], "float32", y);
  });
  const backpropInput = _withFallback("Conv2DBackpropInput", name, ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as ConvAttrs;
    const s = shapeOf(info(a.inputShape!, filter.shape, a));
    if (!s || dy.dtype !== "float32") return undefined;
    const b = backend as _OneDnnBackendLike;
    const dx = b.onednn.conv.backwardData(s, _floats(b, dy), _floats(b, filter));
    return b.makeTensorInfo([s.batch, s.inHeight, s.inWidth, s.inChannels], "float32", dx);
  });
  const backpropFilter = _withFallback(
    "Conv2DBackpropFilter",
    name,
    ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as ConvAttrs;
      const s = shapeOf(info(x.shape, a.filterShape!, a));
      if (!s || x.dtype !== "float32") return undefined;
      const b = backend as _OneDnnBackendLike;
      const dw = b.onednn.conv.backwardWeights(s, _floats(b, x), _floats(b, dy));
      return b.makeTensorInfo(
        [s.filterHeight, s.filterWidth, s.inChannels, s.outChannels],
        "float32",
        dw,
      );
    },
  );
  return [conv2d, fused, backpropInput, backpropFilter];
}
