/**
 * Batched matrix products as oneDNN matmul primitives, transposes expressed as strides.
 *
 * @module
 */
import { DNNL, type DnnlRuntime } from "./_lib.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";
import {
  allocFloats,
  mdByStrides,
  mdByTag,
  pinned,
  Primitive,
  threadsFor,
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

/** Caches matmul primitives by shape; `dispose()` frees them. */
export class MatMulPrimitives {
  readonly #rt: DnnlRuntime;
  readonly #alloc: (n: number) => Float32Array;
  readonly #prims = new PrimitiveCache<Primitive>();

  /**
   * @param rt The runtime.
   * @param alloc Makes output arrays (written in full); default fresh ones.
   */
  constructor(rt: DnnlRuntime, alloc: (n: number) => Float32Array = allocFloats) {
    this.#rt = rt;
    this.#alloc = alloc;
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
    const key = Object.values(s).join(",");
    const prim = this.#prims.get(key, () => this.#create(s));
    const out = this.#alloc(Math.max(s.batchA, s.batchB) * s.m * s.n);
    const buffers = [pinned(a), pinned(b)];
    if (s.bias) buffers.push(pinned(bias!));
    buffers.push(out);
    prim.execute(buffers);
    return out;
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#prims.dispose();
  }

  #create(s: MatMulShape): Primitive {
    const rt = this.#rt;
    const { m, k, n } = s;
    const src = s.transposeA
      ? mdByStrides(rt, [s.batchA, m, k], [m * k, 1, m])
      : mdByStrides(rt, [s.batchA, m, k], [m * k, k, 1]);
    const weights = s.transposeB
      ? mdByStrides(rt, [s.batchB, k, n], [k * n, 1, k])
      : mdByStrides(rt, [s.batchB, k, n], [k * n, n, 1]);
    const dst = mdByTag(rt, [Math.max(s.batchA, s.batchB), m, n], DNNL.TAG_ABC);
    const bias = s.bias ? mdByTag(rt, [1, 1, n], DNNL.TAG_ABC) : null;
    const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
    const status = rt.fn.dnnl_matmul_desc_init(desc, src, weights, bias, dst);
    if (status !== 0) throw new Error(`oneDNN dnnl_matmul_desc_init failed: status ${status}`);
    const threads = threadsFor(rt, 2 * Math.max(s.batchA, s.batchB) * s.m * s.n * s.k);
    const prim = s.relu
      ? withPostOps(rt, desc, [{ kind: "eltwise", alg: DNNL.ELTWISE_RELU }], threads)
      : new Primitive(rt, desc, { threads });
    prim.arg(DNNL.ARG_SRC, src).arg(DNNL.ARG_WEIGHTS, weights);
    if (bias) prim.arg(DNNL.ARG_BIAS, bias);
    return prim.arg(DNNL.ARG_DST, dst);
  }
}
