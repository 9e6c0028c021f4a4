// Recycled output buffers: the pool's bookkeeping, and on the onednn backend that a recycled
// buffer never changes an array a caller can still see.
import * as tf from "@tensorflow/tfjs";
import { BufferPool } from "../src/backends/cpu/_buffer_pool.ts";
import { setBackend } from "../mod.ts";
import { assert } from "./_assert.ts";
import { HAS_ONEDNN } from "./_backend.ts";

const BIG = 64 * 1024; // elements: 256 KiB, far above the pool's 256-byte floor

Deno.test("BufferPool reuses a released buffer of the same size, zeroed on request", () => {
  const pool = new BufferPool(1 << 30);
  const a = pool.take(BIG, false);
  a.fill(7);
  pool.retain(a);
  pool.release(a);
  assert.equal(pool.freeBytes, BIG * 4);
  const b = pool.take(BIG);
  assert.equal(b.buffer, a.buffer, "the released buffer comes back");
  assert.equal(pool.stats.reused, 1);
  assert.ok(b.every((v) => v === 0), "take() zeroes a reused buffer by default");
  assert.notEqual(pool.take(BIG).buffer, a.buffer, "a buffer is handed out once");
  assert.notEqual(pool.take(BIG + 1).buffer, b.buffer);
});

Deno.test("BufferPool keeps a buffer while any view of it is stored", () => {
  const pool = new BufferPool(1 << 30);
  const a = pool.take(BIG);
  const view = a.subarray(10, 20);
  pool.retain(a);
  pool.retain(view);
  pool.release(a);
  assert.equal(pool.freeBytes, 0, "the view still uses the buffer");
  pool.release(view);
  assert.equal(pool.freeBytes, BIG * 4);
});

Deno.test("BufferPool never reuses an escaped buffer, and respects its byte cap", () => {
  const pool = new BufferPool(BIG * 4);
  const a = pool.take(BIG);
  pool.retain(a);
  pool.escape(a);
  pool.release(a);
  assert.equal(pool.freeBytes, 0);
  const [b, c] = [pool.take(BIG), pool.take(BIG)];
  for (const x of [b, c]) {
    pool.retain(x);
    pool.release(x);
  }
  assert.equal(pool.freeBytes, BIG * 4, "the second release is over the cap");
  assert.equal(pool.stats.dropped, 1);
  // Small arrays and arrays the pool did not make are not tracked.
  const small = pool.take(8);
  pool.retain(small);
  pool.release(small);
  pool.release(new Float32Array(BIG));
  assert.equal(pool.freeBytes, BIG * 4);
});

/** How many elements differ (node's deepEqual diff of large arrays takes gigabytes). */
function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

Deno.test({
  name: "onednn: arrays read from tensors survive later kernels that recycle buffers",
  ignore: !HAS_ONEDNN,
  fn: async () => {
    await setBackend("onednn");
    const pool = (tf.backend() as unknown as { bufferPool: BufferPool }).bufferPool;
    const x = tf.randomNormal([4, 16, 16, 32], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 32, 32], 0, 0.1, "float32", 2) as tf.Tensor4D;
    const expected = tf.tidy(() => tf.conv2d(x, w, 1, "same").dataSync().slice());

    // 1. A slice (a view of the conv's buffer on the cpu backend) outlives its source.
    const z = tf.conv2d(x, w, 1, "same");
    const firstImage = tf.slice(z, [0, 0, 0, 0], [1, -1, -1, -1]);
    z.dispose();
    // 2. An array read with dataSync stays the caller's after its tensor is disposed.
    const y = tf.conv2d(x, w, 1, "same");
    const read = y.dataSync();
    y.dispose();
    // Kernels of the same shapes that write other values into whatever buffers they get.
    const w2 = tf.randomNormal([3, 3, 32, 32], 0, 0.1, "float32", 3) as tf.Tensor4D;
    const before = pool.stats.reused;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        const a = tf.conv2d(x, w2, 1, "same");
        return void tf.conv2d(tf.relu(a), w2, 1, "same").dataSync();
      });
    }
    assert.ok(pool.stats.reused > before, "the loop recycled buffers");
    assert.equal(mismatches(read, expected), 0, "a recycled buffer overwrote an array read");
    const image = expected.subarray(0, 16 * 16 * 32);
    assert.equal(mismatches(firstImage.dataSync(), image), 0, "a recycled buffer overwrote a view");
    // 3. Results computed into recycled buffers are the same as into fresh ones.
    const again = tf.conv2d(x, w, 1, "same");
    assert.equal(mismatches(again.dataSync(), expected), 0);
    tf.dispose([x, w, w2, firstImage, again]);
  },
});
