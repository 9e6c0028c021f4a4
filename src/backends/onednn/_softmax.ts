/**
 * Softmax over the last axis as a oneDNN primitive, cached by shape.
 *
 * @module
 */
import { DNNL, type DnnlRuntime } from "./_lib.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";
import {
  allocFloats,
  mdByTag,
  pinned,
  Primitive,
  threadsFor,
  UnsupportedByOneDnn,
} from "./_primitive.ts";

/** Caches softmax primitives by `[rows, cols]`; `dispose()` frees them. */
export class SoftmaxPrimitives {
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
   * `y[r, :] = exp(x[r, :] - max) / sum(exp(x[r, :] - max))`.
   *
   * @param rows Independent rows.
   * @param cols Length of each row (the softmax axis).
   * @param x Row-major input.
   * @returns The output.
   */
  forward(rows: number, cols: number, x: Float32Array): Float32Array {
    const key = `${rows},${cols}`;
    const prim = this.#prims.get(key, () => {
      const md = mdByTag(this.#rt, [rows, cols], DNNL.TAG_AB);
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      const status = this.#rt.fn.dnnl_softmax_forward_desc_init(
        desc,
        DNNL.FORWARD_INFERENCE,
        md,
        1,
      );
      if (status !== 0) throw new UnsupportedByOneDnn(`softmax ${key} (status ${status})`);
      // About ten operations an element (max, exp, sum, divide).
      const threads = threadsFor(this.#rt, 10 * rows * cols);
      return new Primitive(this.#rt, desc, { threads })
        .arg(DNNL.ARG_SRC, md)
        .arg(DNNL.ARG_DST, md);
    });
    const y = this.#alloc(rows * cols);
    prim.execute([pinned(x), y]);
    return y;
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#prims.dispose();
  }
}
