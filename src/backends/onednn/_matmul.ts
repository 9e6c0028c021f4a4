/**
 * Batched matrix products as oneDNN matmul primitives, transposes expressed as strides.
 *
 * @module
 */
import { DNNL, type DnnlRuntime } from "./_lib.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";
import type { LowpCache } from "./_lowp_cache.ts";
import type { Precision } from "../../kernels/backend_descriptor.ts";
import {
  type FloatBuffer,
  mdByStrides,
  mdByTag,
  pinned,
  Primitive,
  threadsFor,
  UnsupportedByOneDnn,
  withPostOps,
} from "./_primitive.ts";

/** One batched product `C[b] = A[b] B[b] (+ bias)`; a batch of 1 broadcasts. */
export interface MatMulShape {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  /** A bias of `n` values added to every row. */
  bias: boolean;
  /** ReLU after the bias. */
  relu: boolean;
}

/**
 * Caches matmul primitives by shape and precision; `dispose()` frees them. In bf16 both
 * operands are read as bf16 and the product (plus an f32 bias) is written in f32; a shape
 * without a native bf16 kernel runs in f32.
 */
export class MatMulPrimitives {
  readonly #rt: DnnlRuntime;
  readonly #alloc: (n: number) => Float32Array;
  readonly #lowp: LowpCache;
  readonly #prims = new PrimitiveCache<Primitive>();
  /** The compute type of the next calls. */
  precision: Precision = "fp32";

  /**
   * @param rt The runtime.
   * @param alloc Makes output arrays (written in full).
   * @param lowp Where bf16 copies of the operands are kept.
   */
  constructor(rt: DnnlRuntime, alloc: (n: number) => Float32Array, lowp: LowpCache) {
    this.#rt = rt;
    this.#alloc = alloc;
    this.#lowp = lowp;
  }

  /**
   * Computes the product.
   *
   * @param s The shape.
   * @param a `[batchA, m, k]` (or `[batchA, k, m]` transposed), row-major.
   * @param b `[batchB, k, n]` (or `[batchB, n, k]` transposed).
   * @param bias `[n]` when `s.bias`.
   * @returns `[max(batchA, batchB), m, n]`.
   */
  run(s: MatMulShape, a: Float32Array, b: Float32Array, bias?: Float32Array): Float32Array {
    let dt: number = DNNL.F32;
    let prim: Primitive | undefined;
    if (this.precision === "bf16") {
      try {
        prim = this.#get(s, DNNL.BF16);
        dt = DNNL.BF16;
      } catch (err) {
        if (!(err instanceof UnsupportedByOneDnn)) throw err;
      }
    }
    prim ??= this.#get(s, DNNL.F32);
    const operand = (x: Float32Array) => dt === DNNL.BF16 ? this.#lowp.bf16(x) : pinned(x);
    const buffers: FloatBuffer[] = [operand(a), operand(b)];
    if (s.bias) buffers.push(pinned(bias!));
    const out = this.#alloc(Math.max(s.batchA, s.batchB) * s.m * s.n);
    buffers.push(out);
    prim.execute(buffers);
    return out;
  }

  /**
   * The implementation oneDNN picks for a shape in bf16, built.
   *
   * @param s The shape.
   * @returns Its name.
   * @throws {UnsupportedByOneDnn} when it is only a reference kernel.
   */
  bf16Impl(s: MatMulShape): string {
    return this.#get(s, DNNL.BF16).impl;
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#prims.dispose();
  }

  #get(s: MatMulShape, dt: number): Primitive {
    return this.#prims.get(`${dt}:${Object.values(s).join(",")}`, () => this.#create(s, dt));
  }

  #create(s: MatMulShape, dt: number): Primitive {
    const rt = this.#rt;
    const { m, k, n } = s;
    const src = s.transposeA
      ? mdByStrides(rt, [s.batchA, m, k], [m * k, 1, m], dt)
      : mdByStrides(rt, [s.batchA, m, k], [m * k, k, 1], dt);
    const weights = s.transposeB
      ? mdByStrides(rt, [s.batchB, k, n], [k * n, 1, k], dt)
      : mdByStrides(rt, [s.batchB, k, n], [k * n, n, 1], dt);
    const dst = mdByTag(rt, [Math.max(s.batchA, s.batchB), m, n], DNNL.TAG_ABC);
    const bias = s.bias ? mdByTag(rt, [1, 1, n], DNNL.TAG_ABC) : null;
    const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
    const status = rt.fn.dnnl_matmul_desc_init(desc, src, weights, bias, dst);
    if (status !== 0) {
      throw new UnsupportedByOneDnn(`matmul ${Object.values(s)} (status ${status})`);
    }
    const threads = threadsFor(rt, 2 * Math.max(s.batchA, s.batchB) * s.m * s.n * s.k);
    const prim = s.relu
      ? withPostOps(rt, desc, [{ kind: "eltwise", alg: DNNL.ELTWISE_RELU }], threads)
      : new Primitive(rt, desc, { threads });
    prim.arg(DNNL.ARG_SRC, src).arg(DNNL.ARG_WEIGHTS, weights);
    if (bias) prim.arg(DNNL.ARG_BIAS, bias);
    return prim.arg(DNNL.ARG_DST, dst);
  }
}
