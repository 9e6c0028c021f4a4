/**
 * Recycles the output buffers of a cpu-family backend's kernels.
 *
 * A fresh `Float32Array` of a few megabytes costs more than many kernels that fill it: the
 * operating system maps and zeroes its pages on first touch (0.1-0.3 ms per MiB here), and a
 * cifar10 training step allocates about 1.9 GiB of outputs. Steps repeat the same shapes, so
 * a buffer released by one step fits a kernel of the next.
 *
 * A buffer may be reused only when nothing can still see it. The backend reports three
 * events: a values array stored for a tensor (`retain`; views of one buffer, such as the
 * cpu backend's slices, count separately), a tensor's data released (`release`), and a
 * values array handed out of the backend by `readSync`/`read`/`dataSync` (`escape`: the
 * caller may keep it, so its buffer never returns to the pool).
 *
 * @module
 */

/** How a pooled buffer is used. */
interface Usage {
  /** Stored values arrays over the buffer that are not yet released. */
  live: number;
  /** Whether an array over it left the backend; such a buffer is never reused. */
  escaped: boolean;
}

/**
 * Typed arrays up to this size live inside V8's heap, where the collector moves them (and
 * native code must not keep pointers to them): pooled buffers are always larger.
 */
const MIN_ELEMENTS = 17;

/**
 * Below this a buffer is cheap to allocate and not worth tracking. Above it a fresh
 * ArrayBuffer is not cheap: 2-8 us from 128 B to 128 KiB when each is dropped at once
 * (`bench/allocation_bench.ts`), 10-34 us from 4 to 128 KiB when hundreds are alive, as in a
 * step (allocation, zeroing and the collector's bookkeeping), against 0.1-1 us to zero a
 * reused one; a tiny training step takes about 135 outputs of 1-64 KiB.
 */
const MIN_POOLED_BYTES = 256;

/** A pool of output buffers for one backend instance. */
export class BufferPool {
  readonly #usage = new WeakMap<ArrayBufferLike, Usage>();
  /** Free buffers by byte length, oldest first. */
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  /** The most bytes kept free; beyond it released buffers go to the garbage collector. */
  readonly maxFreeBytes: number;
  /** Counters, for tests and benchmarks. */
  readonly stats = { reused: 0, allocated: 0, dropped: 0 };

  /** @param maxFreeBytes The most bytes kept free for reuse. */
  constructor(maxFreeBytes: number) {
    this.maxFreeBytes = maxFreeBytes;
  }

  /**
   * A Float32Array of exactly `n` elements, from a free buffer of the same size when there is
   * one. Zeroed unless `zeroed` is false, for a caller that writes every element.
   *
   * @param n Elements.
   * @param zeroed Whether the array must start at zero.
   * @returns The array.
   */
  take(n: number, zeroed = true): Float32Array {
    const bytes = Math.max(n, MIN_ELEMENTS) * 4;
    if (bytes < MIN_POOLED_BYTES) return new Float32Array(new ArrayBuffer(bytes), 0, n);
    const reused = this.#free.get(bytes)?.pop();
    if (reused) {
      this.#freeBytes -= bytes;
      this.stats.reused++;
      const arr = new Float32Array(reused, 0, n);
      if (zeroed) arr.fill(0);
      return arr;
    }
    this.stats.allocated++;
    const buffer = new ArrayBuffer(bytes);
    this.#usage.set(buffer, { live: 0, escaped: false });
    return new Float32Array(buffer, 0, n);
  }

  /**
   * Records that `values` is now stored for a tensor.
   *
   * @param values A values array the backend stores.
   */
  retain(values: unknown): void {
    const u = this.#usageOf(values);
    if (u) u.live++;
  }

  /**
   * Records that a tensor's stored `values` were released; frees the buffer for reuse when no
   * stored array and no escaped array can see it.
   *
   * @param values The released values array.
   */
  release(values: unknown): void {
    const u = this.#usageOf(values);
    if (!u) return;
    u.live--;
    if (u.live > 0 || u.escaped) return;
    const buffer = (values as Float32Array).buffer as ArrayBuffer;
    // An adopted small buffer is tracked only to be written in place; `take` never reuses one.
    if (buffer.byteLength < MIN_POOLED_BYTES) return;
    if (this.#freeBytes + buffer.byteLength > this.maxFreeBytes) {
      this.stats.dropped++;
      return;
    }
    const list = this.#free.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.#free.set(buffer.byteLength, list);
    this.#freeBytes += buffer.byteLength;
  }

  /**
   * Records that `values` left the backend: its buffer is never reused.
   *
   * @param values An array handed to a caller.
   */
  escape(values: unknown): void {
    const u = this.#usageOf(values);
    if (u) u.escaped = true;
  }

  /**
   * Starts tracking `values`, an array made outside {@linkcode take} (of any size), so that
   * {@linkcode exclusive} can answer for it.
   *
   * @param values An array about to be stored for a tensor.
   */
  adopt(values: Float32Array): void {
    if (!this.#usage.has(values.buffer)) {
      this.#usage.set(values.buffer, { live: 0, escaped: false });
    }
  }

  /**
   * Whether `values` may be overwritten in place: it is the only stored array over its buffer
   * and no array over it ever left the backend. False for a buffer the pool does not track.
   *
   * @param values A stored values array.
   * @returns Whether nothing else can see a write to it.
   */
  exclusive(values: unknown): boolean {
    const u = this.#usageOf(values);
    return u !== undefined && u.live === 1 && !u.escaped;
  }

  /** Bytes held free for reuse. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Lets every free buffer go to the garbage collector. */
  clear(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }

  #usageOf(values: unknown): Usage | undefined {
    if (!ArrayBuffer.isView(values)) return undefined;
    return this.#usage.get(values.buffer);
  }
}
