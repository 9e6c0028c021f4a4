/**
 * Scratch arrays for one kernel call, recycled across calls.
 *
 * Helper threads and oneDNN read a kernel's arrays by address, so scratch must live outside
 * V8's moving heap, in an ArrayBuffer of its own. A fresh ArrayBuffer costs 2-8 us here
 * (allocation, zeroing and the collector's bookkeeping; `bench/allocation_bench.ts`), a
 * recycled one 0.1-1 us, while the group-norm kernels of a small model use theirs for a few
 * microseconds: a tiny training step made several hundred of them. Steps
 * repeat the same sizes, so a free list per byte length serves nearly every request.
 *
 * @module
 */

/** Zeroed arrays that stay valid until the kernel's body returns. */
export interface _Scratch {
  /** A zeroed Float64Array of `n` elements. */
  f64(n: number): Float64Array;
  /** A zeroed Float32Array of `n` elements. */
  f32(n: number): Float32Array;
}

/** Free buffers by byte length. */
const free = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;
/** The most bytes kept free; beyond it returned buffers go to the garbage collector. */
const MAX_FREE_BYTES = 16 << 20;

/**
 * Runs `body` with scratch arrays that stay valid until it returns or throws; they are then
 * recycled, so none may escape `body` (copy a result out first).
 *
 * @param body The kernel's work.
 * @returns What `body` returns.
 */
export function _withScratch<T>(body: (scratch: _Scratch) => T): T {
  const taken: ArrayBuffer[] = [];
  const bufferOf = (bytes: number): ArrayBuffer => {
    // At least 64 bytes: never an empty buffer, whose address may be null.
    bytes = Math.max(bytes, 64);
    const reused = free.get(bytes)?.pop();
    if (reused) freeBytes -= bytes;
    const buffer = reused ?? new ArrayBuffer(bytes);
    taken.push(buffer);
    return buffer;
  };
  try {
    return body({
      f64: (n) => new Float64Array(bufferOf(n * 8), 0, n).fill(0),
      f32: (n) => new Float32Array(bufferOf(n * 4), 0, n).fill(0),
    });
  } finally {
    for (const buffer of taken) {
      if (freeBytes + buffer.byteLength > MAX_FREE_BYTES) continue;
      const list = free.get(buffer.byteLength) ?? [];
      list.push(buffer);
      free.set(buffer.byteLength, list);
      freeBytes += buffer.byteLength;
    }
  }
}
