/**
 * Convolution forward, backward-data and backward-weights as oneDNN primitives, one set per
 * shape, on NHWC activations and TF.js's HWIO filters.
 *
 * @module
 */
import { DNNL, type DnnlRuntime } from "./_lib.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";
import type { LowpCache } from "./_lowp_cache.ts";
import type { Precision } from "../../kernels/backend_descriptor.ts";
import {
  allocFloats,
  dimsBuffer,
  type FloatBuffer,
  mdByTag,
  type MemoryDesc,
  pinned,
  Primitive,
  reorder,
  sameLayout,
  threadsFor,
  UnsupportedByOneDnn,
  withPostOps,
} from "./_primitive.ts";

/** The geometry of one 2-D convolution (no dilation), NHWC in, HWIO filter. */
export interface ConvShape {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** An elementwise function fused after the convolution's bias. */
export type ConvActivation = "linear" | "relu";

interface Mds {
  /** The input and output in the compute type (bf16 or f32) and in f32. */
  srcIn: MemoryDesc;
  dstIn: MemoryDesc;
  src: MemoryDesc;
  dst: MemoryDesc;
  userWeights: MemoryDesc;
  /** The filter in the compute type, layout oneDNN's choice. */
  anyWeights: MemoryDesc;
  /** The filter gradient: f32, layout oneDNN's choice. */
  anyWeightsF32: MemoryDesc;
  bias: MemoryDesc;
  strides: BigInt64Array;
  padL: BigInt64Array;
  padR: BigInt64Array;
}

/**
 * A primitive and, where it wants another filter layout or type, the reorder (and for the
 * filter gradient, the buffer it writes before the reorder).
 */
interface Plan {
  prim: Primitive;
  weightsReorder?: Primitive;
  weightsBuf?: Float32Array;
  dispose(): void;
}

function plan(prim: Primitive, weightsReorder?: Primitive, weightsBuf?: Float32Array): Plan {
  return {
    prim,
    weightsReorder,
    weightsBuf,
    dispose() {
      prim.dispose();
      weightsReorder?.dispose();
    },
  };
}

/**
 * Caches convolution primitives by shape and precision for one runtime; `dispose()` frees
 * them.
 *
 * In bf16 (PyTorch's autocast), the input, filter and output gradient are read as bf16 and
 * every result (output, input gradient, filter gradient) is written in f32. A shape oneDNN has
 * no native bf16 kernel for runs in f32.
 */
export class ConvPrimitives {
  readonly #rt: DnnlRuntime;
  readonly #alloc: (n: number) => Float32Array;
  readonly #lowp: LowpCache;
  readonly #plans = new PrimitiveCache<Plan>();
  /** The compute type of the next calls. */
  precision: Precision = "fp32";

  /**
   * @param rt The runtime.
   * @param alloc Makes output arrays (written in full).
   * @param lowp Where converted inputs and reordered filters are kept.
   */
  constructor(rt: DnnlRuntime, alloc: (n: number) => Float32Array, lowp: LowpCache) {
    this.#rt = rt;
    this.#alloc = alloc;
    this.#lowp = lowp;
  }

  /**
   * `y = act(conv(x, w) + bias)`.
   *
   * @param s Geometry.
   * @param x Input, NHWC.
   * @param w Filter, HWIO.
   * @param bias Per-output-channel bias, or undefined.
   * @param activation Fused activation.
   * @returns The output, NHWC.
   */
  forward(
    s: ConvShape,
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | undefined,
    activation: ConvActivation = "linear",
  ): Float32Array {
    return this.#inPrecision((dt) => {
      const plan = this.#forwardPlan(s, bias !== undefined, activation, dt);
      const buffers: FloatBuffer[] = [this.#activation(x, dt), this.#weightsIn(plan, w, dt)];
      if (bias) buffers.push(pinned(bias));
      const y = this.#alloc(s.batch * s.outHeight * s.outWidth * s.outChannels);
      buffers.push(y);
      plan.prim.execute(buffers);
      return y;
    });
  }

  /**
   * The gradient of the input: `dx = conv_transpose(dy, w)`.
   *
   * @param s Geometry of the forward convolution.
   * @param dy Output gradient, NHWC.
   * @param w Filter, HWIO.
   * @returns The input gradient, NHWC.
   */
  backwardData(s: ConvShape, dy: Float32Array, w: Float32Array): Float32Array {
    return this.#inPrecision((dt) => {
      const plan = this.#backwardDataPlan(s, dt);
      const dyIn = this.#activation(dy, dt);
      const weights = this.#weightsIn(plan, w, dt);
      const dx = this.#alloc(s.batch * s.inHeight * s.inWidth * s.inChannels);
      plan.prim.execute([dyIn, weights, dx]);
      return dx;
    });
  }

  #backwardDataPlan(s: ConvShape, dt: number): Plan {
    return this.#plans.get(`bd:${dt}:${key(s)}`, () => {
      const m = this.#mds(s, dt);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      this.#check(
        this.#rt.fn.dnnl_convolution_backward_data_desc_init(
          desc,
          DNNL.CONVOLUTION_DIRECT,
          m.src,
          m.anyWeights,
          m.dstIn,
          m.strides,
          m.padL,
          m.padR,
        ),
        s,
      );
      const hint = this.#forwardPlan(s, false, "linear", dt).prim;
      const threads = threadsFor(this.#rt, flops(s));
      const prim = new Primitive(this.#rt, desc, { hint, threads });
      const weights = prim.queryMd(DNNL.QUERY_WEIGHTS_MD);
      prim.arg(DNNL.ARG_DIFF_DST, m.dstIn).arg(DNNL.ARG_WEIGHTS, weights)
        .arg(DNNL.ARG_DIFF_SRC, m.src);
      return this.#withReorder(prim, m.userWeights, weights, "in");
    });
  }

  /**
   * The gradient of the filter.
   *
   * @param s Geometry of the forward convolution.
   * @param x The forward input, NHWC.
   * @param dy Output gradient, NHWC.
   * @returns The filter gradient, HWIO.
   */
  backwardWeights(s: ConvShape, x: Float32Array, dy: Float32Array): Float32Array {
    return this.#inPrecision((dt) => {
      const plan = this.#backwardWeightsPlan(s, dt);
      const xIn = this.#activation(x, dt), dyIn = this.#activation(dy, dt);
      const dw = this.#alloc(s.filterHeight * s.filterWidth * s.inChannels * s.outChannels);
      if (plan.weightsReorder) {
        plan.prim.execute([xIn, dyIn, plan.weightsBuf!]);
        plan.weightsReorder.execute([plan.weightsBuf!, dw]);
      } else {
        plan.prim.execute([xIn, dyIn, dw]);
      }
      return dw;
    });
  }

  #backwardWeightsPlan(s: ConvShape, dt: number): Plan {
    return this.#plans.get(`bw:${dt}:${key(s)}`, () => {
      const m = this.#mds(s, dt);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      this.#check(
        this.#rt.fn.dnnl_convolution_backward_weights_desc_init(
          desc,
          DNNL.CONVOLUTION_DIRECT,
          m.srcIn,
          m.anyWeightsF32,
          null,
          m.dstIn,
          m.strides,
          m.padL,
          m.padR,
        ),
        s,
      );
      const hint = this.#forwardPlan(s, false, "linear", dt).prim;
      // bf16 too: on an idle machine oneDNN 2.6's bf16 weight gradient (jit_bf16) runs 1.9-2x
      // faster on two threads than on one (bench/onednn_threads_table.ts). An earlier
      // measurement under load had it the other way round.
      const threads = threadsFor(this.#rt, flops(s));
      const prim = new Primitive(this.#rt, desc, { hint, threads });
      const weights = prim.queryMd(DNNL.QUERY_DIFF_WEIGHTS_MD);
      prim.arg(DNNL.ARG_SRC, m.srcIn).arg(DNNL.ARG_DIFF_DST, m.dstIn)
        .arg(DNNL.ARG_DIFF_WEIGHTS, weights);
      return this.#withReorder(prim, weights, m.userWeights, "out");
    });
  }

  /**
   * The implementations oneDNN picks for a shape in bf16 (forward, backward data, backward
   * weights), each built and run once.
   *
   * @param s Geometry.
   * @returns Three implementation names.
   * @throws {UnsupportedByOneDnn} when any is only a reference kernel.
   */
  bf16Impls(s: ConvShape): string[] {
    const dt = DNNL.BF16;
    const x = allocFloats(s.batch * s.inHeight * s.inWidth * s.inChannels);
    const w = allocFloats(s.filterHeight * s.filterWidth * s.inChannels * s.outChannels);
    const dy = allocFloats(s.batch * s.outHeight * s.outWidth * s.outChannels);
    const fw = this.#forwardPlan(s, false, "linear", dt);
    fw.prim.execute([this.#activation(x, dt), this.#weightsIn(fw, w, dt), allocFloats(dy.length)]);
    const bd = this.#backwardDataPlan(s, dt);
    bd.prim.execute([this.#activation(dy, dt), this.#weightsIn(bd, w, dt), allocFloats(x.length)]);
    const bw = this.#backwardWeightsPlan(s, dt);
    bw.prim.execute([
      this.#activation(x, dt),
      this.#activation(dy, dt),
      bw.weightsBuf ?? allocFloats(w.length),
    ]);
    return [fw.prim.impl, bd.prim.impl, bw.prim.impl];
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#plans.dispose();
  }

  /** Runs `op` in bf16 when asked and oneDNN has a native kernel for it, else in f32. */
  #inPrecision<T>(op: (dataType: number) => T): T {
    if (this.precision === "bf16") {
      try {
        return op(DNNL.BF16);
      } catch (err) {
        if (!(err instanceof UnsupportedByOneDnn)) throw err;
      }
    }
    return op(DNNL.F32);
  }

  #forwardPlan(s: ConvShape, hasBias: boolean, activation: ConvActivation, dt: number): Plan {
    return this.#plans.get(`fw:${dt}:${hasBias}:${activation}:${key(s)}`, () => {
      const m = this.#mds(s, dt);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      this.#check(
        this.#rt.fn.dnnl_convolution_forward_desc_init(
          desc,
          DNNL.FORWARD_TRAINING,
          DNNL.CONVOLUTION_DIRECT,
          m.srcIn,
          m.anyWeights,
          hasBias ? m.bias : null,
          m.dst,
          m.strides,
          m.padL,
          m.padR,
        ),
        s,
      );
      const threads = threadsFor(this.#rt, flops(s));
      const prim = activation === "linear"
        ? new Primitive(this.#rt, desc, { threads })
        : withPostOps(this.#rt, desc, [{ kind: "eltwise", alg: DNNL.ELTWISE_RELU }], threads);
      const weights = prim.queryMd(DNNL.QUERY_WEIGHTS_MD);
      prim.arg(DNNL.ARG_SRC, m.srcIn).arg(DNNL.ARG_WEIGHTS, weights);
      if (hasBias) prim.arg(DNNL.ARG_BIAS, m.bias);
      prim.arg(DNNL.ARG_DST, m.dst);
      return this.#withReorder(prim, m.userWeights, weights, "in");
    });
  }

  /** Adds the filter reorder between the user's f32 HWIO and the primitive's layout and type. */
  #withReorder(prim: Primitive, from: MemoryDesc, to: MemoryDesc, dir: "in" | "out"): Plan {
    if (sameLayout(this.#rt, from, to)) return plan(prim);
    const weightsReorder = reorder(this.#rt, from, to);
    // The primitive's layout may be blocked and padded: size the buffer by its descriptor.
    if (dir === "in") return plan(prim, weightsReorder);
    return plan(prim, weightsReorder, allocFloats(weightsReorder.elements(0)));
  }

  /** The filter as the primitive reads it: converted once per filter array, then cached. */
  #weightsIn(plan: Plan, w: Float32Array, dt: number): FloatBuffer {
    if (!plan.weightsReorder) return pinned(w);
    return this.#lowp.convert(w, plan.weightsReorder, dt === DNNL.BF16);
  }

  /** An activation in the compute type. */
  #activation(x: Float32Array, dt: number): FloatBuffer {
    return dt === DNNL.BF16 ? this.#lowp.bf16(x) : pinned(x);
  }

  #mds(s: ConvShape, dt: number): Mds {
    const rt = this.#rt;
    const padBottom = (s.outHeight - 1) * s.strideHeight + s.filterHeight - s.inHeight - s.padTop;
    const padRight = (s.outWidth - 1) * s.strideWidth + s.filterWidth - s.inWidth - s.padLeft;
    const w = [s.outChannels, s.inChannels, s.filterHeight, s.filterWidth];
    const srcDims = [s.batch, s.inChannels, s.inHeight, s.inWidth];
    const dstDims = [s.batch, s.outChannels, s.outHeight, s.outWidth];
    return {
      srcIn: mdByTag(rt, srcDims, DNNL.TAG_NHWC, dt),
      dstIn: mdByTag(rt, dstDims, DNNL.TAG_NHWC, dt),
      src: mdByTag(rt, srcDims, DNNL.TAG_NHWC),
      dst: mdByTag(rt, dstDims, DNNL.TAG_NHWC),
      userWeights: mdByTag(rt, w, DNNL.TAG_HWIO),
      // "any" lets oneDNN pick its blocked layout; a fixed HWIO halves the speed.
      anyWeights: mdByTag(rt, w, DNNL.TAG_ANY, dt),
      anyWeightsF32: mdByTag(rt, w, DNNL.TAG_ANY),
      bias: mdByTag(rt, [s.outChannels], DNNL.TAG_A),
      strides: dimsBuffer([s.strideHeight, s.strideWidth]),
      padL: dimsBuffer([s.padTop, s.padLeft]),
      padR: dimsBuffer([padBottom, padRight]),
    };
  }

  #check(status: number, s: ConvShape): void {
    if (status !== 0) {
      throw new UnsupportedByOneDnn(`convolution ${key(s)} (status ${status})`);
    }
  }
}

function flops(s: ConvShape): number {
  return 2 * s.batch * s.outHeight * s.outWidth * s.outChannels * s.inChannels *
    s.filterHeight * s.filterWidth;
}

function key(s: ConvShape): string {
  return [
    s.batch,
    s.inHeight,
    s.inWidth,
    s.inChannels,
    s.outHeight,
    s.outWidth,
    s.outChannels,
    s.filterHeight,
    s.filterWidth,
    s.strideHeight,
    s.strideWidth,
    s.padTop,
    s.padLeft,
  ].join(",");
}
