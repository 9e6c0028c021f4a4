/**
 * `y = act(x * scale[n, c] + shift[n, c])` over NHWC as two oneDNN binary primitives, on all
 * cores: the memory-bound half of group normalisation.
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

/**
 * Values from which the two passes run on all threads: at [8, 16, 16, 64] both ways cost the
 * same, and at [8, 8, 8, 64] one thread is 2x faster.
 */
const PARALLEL_MIN_VALUES = 1 << 17;

/** Caches scale-shift primitives by shape and activation; `dispose()` frees them. */
export class ScaleShiftPrimitives {
  readonly #rt: DnnlRuntime;
  readonly #alloc: (n: number) => Float32Array;
  readonly #prims = new PrimitiveCache<ScaleShiftPair>();

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
    const prims = this.#prims.get(`${n},${hw},${c},${swish}`, () => this.#create(n, hw, c, swish));
    const y = this.#alloc(n * hw * c);
    prims.scale.execute([x, pinned(scale), y]);
    prims.shift.execute([y, pinned(shift), y]);
    return y;
  }

  /** Frees every cached primitive. */
  dispose(): void {
    this.#prims.dispose();
  }

  /**
   * Two primitives over all images at once: `t = x * scale`, then `y = act(t + shift)` in
   * place. oneDNN 2.6 has JIT kernels for an operand per image and channel (dims [n, 1, c]
   * against [n, hw, c]) but not as a binary post-op, where it would fall back to its reference
   * kernel; one such post-op per image, the former way, ran 1.4-1.5x slower at cifar10's
   * shapes and on one thread only.
   */
  #create(n: number, hw: number, c: number, swish: boolean): ScaleShiftPair {
    const rt = this.#rt;
    const data = mdByTag(rt, [n, hw, c], DNNL.TAG_ABC);
    const perImageChannel = mdByTag(rt, [n, 1, c], DNNL.TAG_ABC);
    // Small arrays stay on one thread: a fork/join costs more than it saves below this.
    const threads = n * hw * c >= PARALLEL_MIN_VALUES ? rt.maxThreads : 1;
    const binary = (alg: number, postOps: PostOp[]) => {
      const desc = new Uint8Array(DNNL.OP_DESC_BYTES);
      check(
        rt.fn.dnnl_binary_desc_init(desc, alg, data, perImageChannel, data),
        "dnnl_binary_desc_init",
      );
      return withPostOps(rt, desc, postOps, threads)
        .arg(DNNL.ARG_SRC, data)
        .arg(DNNL.ARG_SRC_1, perImageChannel)
        .arg(DNNL.ARG_DST, data);
    };
    const scale = binary(DNNL.BINARY_MUL, []);
    try {
      const act: PostOp[] = swish ? [{ kind: "eltwise", alg: DNNL.ELTWISE_SWISH, alpha: 1 }] : [];
      return new ScaleShiftPair(scale, binary(DNNL.BINARY_ADD, act));
    } catch (err) {
      scale.dispose();
      throw err;
    }
  }
}

/** The two primitives of one shape, disposed together. */
class ScaleShiftPair {
  constructor(readonly scale: Primitive, readonly shift: Primitive) {}

  dispose(): void {
    this.scale.dispose();
    this.shift.dispose();
  }
}
