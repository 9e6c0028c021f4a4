/**
 * `y = act(x * scale[n, c] + shift[n, c])` over NHWC as one oneDNN binary primitive with
 * post-ops, on all cores: the memory-bound half of group normalisation.
 *
 * @module
 */
import { check, DNNL, type DnnlRuntime } from "./_lib.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";
import {
  allocFloats,
  mdByTag,
  pinned,
  type PostOp,
  type Primitive,
  withPostOps,
} from "./_primitive.ts";

/** The post-op argument of the first binary post-op's second operand. */
const POST_OP_0_SRC_1 = DNNL.ARG_POST_OP_BASE | DNNL.ARG_SRC_1;

/** Caches scale-shift primitives by shape and activation; `dispose()` frees them. */
export class ScaleShiftPrimitives {
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
   * Applies a per-image, per-channel affine map and optionally swish.
   *
   * @param n Images.
   * @param hw Pixels per image.
   * @param c Channels (innermost).
   * @param x The input, `n * hw * c`.
   * @param scale `n * c` factors.
   * @param shift `n * c` offsets.
   * @param swish Apply `z * sigmoid(z)` after.
   * @returns The output.
   */
  apply(
    n: number,
    hw: number,
    c: number,
    x: Float32Array,
    scale: Float32Array,
    shift: Float32Array,
    swish: boolean,
  ): Float32Array {
    // One image at a time: oneDNN 2.6 has JIT kernels for a per-channel operand, but a
    // per-image-and-channel one falls back to its reference kernel.
    const key = `${hw},${c},${swish}`;
    const prim = this.#prims.get(key, () => this.#create(hw, c, swish));
    const y = this.#alloc(n * hw * c);
    const size = hw * c;
    const sc = pinned(scale), sh = pinned(shift);
    for (let i = 0; i < n; i++) {
      prim.execute([
        x.subarray(i * size, (i + 1) * size),
        sc.subarray(i * c, (i + 1) * c),
        y.subarray(i * size, (i + 1) * size),
        sh.subarray(i * c, (i + 1) * c),
      ]);
    }
    return y;
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#prims.dispose();
  }

  #create(hw: number, c: number, swish: boolean): Primitive {
    const rt = this.#rt, fn = rt.fn;
    const data = mdByTag(rt, [1, c, hw, 1], DNNL.TAG_NHWC);
    const perChannel = mdByTag(rt, [1, c, 1, 1], DNNL.TAG_NHWC);
    const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
    check(
      fn.dnnl_binary_desc_init(desc, DNNL.BINARY_MUL, data, perChannel, data),
      "dnnl_binary_desc_init",
    );
    const postOps: PostOp[] = [{ kind: "binary", alg: DNNL.BINARY_ADD, md: perChannel }];
    if (swish) postOps.push({ kind: "eltwise", alg: DNNL.ELTWISE_SWISH, alpha: 1 });
    // Called once per image: a fork/join per call costs more than the second core gains.
    return withPostOps(rt, desc, postOps, 1)
      .arg(DNNL.ARG_SRC, data)
      .arg(DNNL.ARG_SRC_1, perChannel)
      .arg(DNNL.ARG_DST, data)
      .arg(POST_OP_0_SRC_1, perChannel);
  }
}
