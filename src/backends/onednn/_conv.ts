/**
 * Convolution forward, backward-data and backward-weights as oneDNN primitives, one set per
 * shape, on NHWC activations and TF.js's HWIO filters.
 *
 * @module
 */
import { DNNL, type DnnlRuntime } from "./_lib.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";
import {
  allocFloats,
  dimsBuffer,
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
  src: MemoryDesc;
  dst: MemoryDesc;
  userWeights: MemoryDesc;
  anyWeights: MemoryDesc;
  bias: MemoryDesc;
  strides: BigInt64Array;
  padL: BigInt64Array;
  padR: BigInt64Array;
}

/** A primitive and, where the primitive wants another filter layout, the reorder and buffer. */
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
 * Caches convolution primitives by shape for one runtime; `dispose()` frees them.
 */
export class ConvPrimitives {
  readonly #rt: DnnlRuntime;
  readonly #alloc: (n: number) => Float32Array;
  readonly #plans = new PrimitiveCache<Plan>();

  /**
   * @param rt The runtime.
   * @param alloc Makes output arrays (written in full); default fresh ones.
   */
  constructor(rt: DnnlRuntime, alloc: (n: number) => Float32Array = allocFloats) {
    this.#rt = rt;
    this.#alloc = alloc;
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
    const plan = this.#forwardPlan(s, bias !== undefined, activation);
    const y = this.#alloc(s.batch * s.outHeight * s.outWidth * s.outChannels);
    const weights = this.#reorderIn(plan, w);
    const buffers = [pinned(x), weights];
    if (bias) buffers.push(pinned(bias));
    buffers.push(y);
    plan.prim.execute(buffers);
    return y;
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
    const plan = this.#plan(`bd:${key(s)}`, () => {
      const m = this.#mds(s);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      this.#check(
        this.#rt.fn.dnnl_convolution_backward_data_desc_init(
          desc,
          DNNL.CONVOLUTION_DIRECT,
          m.src,
          m.anyWeights,
          m.dst,
          m.strides,
          m.padL,
          m.padR,
        ),
        s,
      );
      const hint = this.#forwardPlan(s, false, "linear").prim;
      const prim = new Primitive(this.#rt, desc, { hint, threads: threadsFor(this.#rt, flops(s)) });
      const weights = prim.queryMd(DNNL.QUERY_WEIGHTS_MD);
      prim.arg(DNNL.ARG_DIFF_DST, m.dst).arg(DNNL.ARG_WEIGHTS, weights)
        .arg(DNNL.ARG_DIFF_SRC, m.src);
      return this.#withReorder(prim, m.userWeights, weights, "in");
    });
    const dx = this.#alloc(s.batch * s.inHeight * s.inWidth * s.inChannels);
    plan.prim.execute([pinned(dy), this.#reorderIn(plan, w), dx]);
    return dx;
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
    const plan = this.#plan(`bw:${key(s)}`, () => {
      const m = this.#mds(s);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      this.#check(
        this.#rt.fn.dnnl_convolution_backward_weights_desc_init(
          desc,
          DNNL.CONVOLUTION_DIRECT,
          m.src,
          m.anyWeights,
          null,
          m.dst,
          m.strides,
          m.padL,
          m.padR,
        ),
        s,
      );
      const hint = this.#forwardPlan(s, false, "linear").prim;
      const prim = new Primitive(this.#rt, desc, { hint, threads: threadsFor(this.#rt, flops(s)) });
      const weights = prim.queryMd(DNNL.QUERY_DIFF_WEIGHTS_MD);
      prim.arg(DNNL.ARG_SRC, m.src).arg(DNNL.ARG_DIFF_DST, m.dst)
        .arg(DNNL.ARG_DIFF_WEIGHTS, weights);
      return this.#withReorder(prim, weights, m.userWeights, "out");
    });
    const dw = this.#alloc(s.filterHeight * s.filterWidth * s.inChannels * s.outChannels);
    if (plan.weightsReorder) {
      plan.prim.execute([pinned(x), pinned(dy), plan.weightsBuf!]);
      plan.weightsReorder.execute([plan.weightsBuf!, dw]);
    } else {
      plan.prim.execute([pinned(x), pinned(dy), dw]);
    }
    return dw;
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#plans.dispose();
  }

  #forwardPlan(s: ConvShape, hasBias: boolean, activation: ConvActivation): Plan {
    return this.#plan(`fw:${hasBias}:${activation}:${key(s)}`, () => {
      const m = this.#mds(s);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      this.#check(
        this.#rt.fn.dnnl_convolution_forward_desc_init(
          desc,
          DNNL.FORWARD_TRAINING,
          DNNL.CONVOLUTION_DIRECT,
          m.src,
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
      prim.arg(DNNL.ARG_SRC, m.src).arg(DNNL.ARG_WEIGHTS, weights);
      if (hasBias) prim.arg(DNNL.ARG_BIAS, m.bias);
      prim.arg(DNNL.ARG_DST, m.dst);
      return this.#withReorder(prim, m.userWeights, weights, "in");
    });
  }

  /** Adds the filter reorder between the user's HWIO and the primitive's chosen layout. */
  #withReorder(prim: Primitive, from: MemoryDesc, to: MemoryDesc, dir: "in" | "out"): Plan {
    if (sameLayout(this.#rt, from, to)) return plan(prim);
    const weightsReorder = reorder(this.#rt, from, to);
    // The primitive's layout may be blocked and padded: size the buffer by its descriptor.
    const padded = dir === "in" ? weightsReorder.elements(1) : weightsReorder.elements(0);
    return plan(prim, weightsReorder, allocFloats(padded));
  }

  #reorderIn(plan: Plan, w: Float32Array): Float32Array {
    if (!plan.weightsReorder) return pinned(w);
    plan.weightsReorder.execute([pinned(w), plan.weightsBuf!]);
    return plan.weightsBuf!;
  }

  #plan(k: string, make: () => Plan): Plan {
    return this.#plans.get(k, make);
  }

  #mds(s: ConvShape): Mds {
    const rt = this.#rt;
    const padBottom = (s.outHeight - 1) * s.strideHeight + s.filterHeight - s.inHeight - s.padTop;
    const padRight = (s.outWidth - 1) * s.strideWidth + s.filterWidth - s.inWidth - s.padLeft;
    const w = [s.outChannels, s.inChannels, s.filterHeight, s.filterWidth];
    return {
      src: mdByTag(rt, [s.batch, s.inChannels, s.inHeight, s.inWidth], DNNL.TAG_NHWC),
      dst: mdByTag(rt, [s.batch, s.outChannels, s.outHeight, s.outWidth], DNNL.TAG_NHWC),
      userWeights: mdByTag(rt, w, DNNL.TAG_HWIO),
      // "any" lets oneDNN pick its blocked layout; a fixed HWIO halves the speed.
      anyWeights: mdByTag(rt, w, DNNL.TAG_ANY),
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
