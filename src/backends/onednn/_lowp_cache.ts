/**
 * Converted copies of tensor values, made once per array and reused until the tensor is freed:
 * a weight converted to bf16 (or reordered into a primitive's blocked layout) for the forward
 * pass serves every later call of that step, and an activation converted for a convolution's
 * forward pass serves its weight gradient.
 *
 * A tensor's values array never changes while the tensor lives (every kernel, the optimiser's
 * included, writes a new array; the buffer pool hands a recycled buffer out as a new array
 * object), so the array object itself is the version: the next step's weights are other
 * arrays. The backend calls {@linkcode LowpCache.forget} when it frees a tensor's values, which
 * returns the copies' memory at once instead of at the next garbage collection.
 *
 * @module
 */
import { DNNL, type DnnlRuntime } from "./_lib.ts";
import { type FloatBuffer, mdByTag, pinned, type Primitive, reorder } from "./_primitive.ts";
import { PrimitiveCache } from "./_primitive_cache.ts";

/**
 * From this many elements a conversion runs on every core: below it the copy (6 bytes an
 * element) takes less than an OpenMP fork/join.
 */
const PARALLEL_MIN_ELEMENTS = 1 << 20;

/** Makes and takes back scratch memory (the backend's buffer pool). */
export interface ScratchMemory {
  /** A Float32Array of `n` elements, contents undefined. */
  take(n: number): Float32Array;
  /** Gives an array from `take` back. */
  give(arr: Float32Array): void;
}

/** One converted copy. */
interface Copy {
  storage: Float32Array;
  view: FloatBuffer;
}

/** Copies of arrays, per array and per conversion (a reorder primitive). */
export class LowpCache {
  readonly #copies = new WeakMap<Float32Array, Map<Primitive, Copy>>();
  readonly #memory: ScratchMemory;
  readonly #rt: DnnlRuntime;
  readonly #toBf16 = new PrimitiveCache<Primitive>();
  /** Conversions run and conversions served from the cache, for tests and benchmarks. */
  readonly stats = { converted: 0, reused: 0 };

  /**
   * @param rt The runtime.
   * @param memory Where copies live.
   */
  constructor(rt: DnnlRuntime, memory: ScratchMemory) {
    this.#rt = rt;
    this.#memory = memory;
  }

  /**
   * `src` rounded to bf16 (to nearest, ties to even) in the same element order.
   *
   * @param src The f32 values.
   * @returns Its bf16 copy; valid until `src` is forgotten.
   */
  bf16(src: Float32Array): Uint16Array {
    const n = src.length;
    const conversion = this.#toBf16.get(String(n), () => {
      const rt = this.#rt;
      const threads = n >= PARALLEL_MIN_ELEMENTS ? rt.maxThreads : 1;
      return reorder(
        rt,
        mdByTag(rt, [n], DNNL.TAG_A),
        mdByTag(rt, [n], DNNL.TAG_A, DNNL.BF16),
        threads,
      );
    });
    return this.convert(src, conversion, true) as Uint16Array;
  }

  /**
   * `src` converted by `reorder` (declared `[from, to]`), from the cache when it was converted
   * by the same reorder before.
   *
   * @param src The f32 values.
   * @param reorder The conversion.
   * @param bf16 Whether the destination holds bf16 (a Uint16Array view) or f32.
   * @returns The converted copy; valid until `src` is forgotten.
   */
  convert(src: Float32Array, reorder: Primitive, bf16: boolean): FloatBuffer {
    let byReorder = this.#copies.get(src);
    const hit = byReorder?.get(reorder);
    if (hit) {
      this.stats.reused++;
      return hit.view;
    }
    const words = reorder.elements(1);
    const storage = this.#memory.take(words);
    const view = bf16 ? new Uint16Array(storage.buffer, storage.byteOffset, words * 2) : storage;
    reorder.execute([pinned(src), view]);
    this.stats.converted++;
    if (!byReorder) {
      byReorder = new Map();
      this.#copies.set(src, byReorder);
    }
    byReorder.set(reorder, { storage, view });
    return view;
  }

  /**
   * Drops the copies of `src` and gives their memory back.
   *
   * @param src An array whose tensor was freed.
   */
  forget(src: unknown): void {
    if (!(src instanceof Float32Array)) return;
    const byReorder = this.#copies.get(src);
    if (!byReorder) return;
    this.#copies.delete(src);
    for (const c of byReorder.values()) this.#memory.give(c.storage);
  }

  /** Frees the conversion primitives. */
  dispose(): void {
    this.#toBf16.dispose();
  }
}
