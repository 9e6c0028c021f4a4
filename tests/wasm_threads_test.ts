import * as tf from "@tensorflow/tfjs";
import { registerThreadedWasm } from "../src/backends/wasm/prefer_threaded_wasm.ts";
import { createThreadedWasmBackend } from "../src/backends/wasm/wasm_threads.ts";
import { assert, assertClose } from "./_assert.ts";

// Emscripten's pthread workers live as long as the process; they are unref'd, not leaked ops.
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "registerThreadedWasm() runs the wasm kernels on 2 threads, matching cpu",
  opts,
  async () => {
    await tf.setBackend("cpu");
    const workerBefore = globalThis.Worker;
    const threads = await registerThreadedWasm("wasm-2t-test", 2);
    assert.equal(threads, 2);
    assert.equal(globalThis.Worker, workerBefore, "Deno's Web Worker is restored");

    const xs = tf.tidy(() => tf.randomNormal([4, 16, 16, 8], 0, 1, "float32", 1).dataSync());
    const ws = tf.tidy(() => tf.randomNormal([3, 3, 8, 16], 0, 1, "float32", 2).dataSync());
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const x = tf.tensor4d(xs, [4, 16, 16, 8]);
        const w = tf.tensor4d(ws, [3, 3, 8, 16]);
        // A convolution (XNNPACK, split across threads) and a gradient through matMul and relu.
        const y = tf.conv2d(x, w, 1, "same");
        const m = y.reshape([4 * 16 * 16, 16]);
        const g = tf.grad((a: tf.Tensor) => tf.relu(tf.matMul(a as tf.Tensor2D, m, true)).sum())(m);
        return [y.dataSync(), g.dataSync()];
      });
      assert.equal(tf.memory().numTensors, before, `no tensor leaks on ${backend}`);
      return out;
    };
    const cpu = await run("cpu");
    const threaded = await run("wasm-2t-test");
    for (let i = 0; i < cpu.length; i++) {
      assertClose(threaded[i], cpu[i], {
        rtol: 1e-4,
        atol: 1e-3,
      });
    }
    await tf.setBackend("cpu");
    tf.removeBackend("wasm-2t-test");
  },
);

Deno.test("createThreadedWasmBackend() rejects a thread count out of range", async () => {
  for (const n of [0, 9, 1.5]) {
    await assert.rejects(
      () => createThreadedWasmBackend(n),
      (err: unknown) => err instanceof RangeError && err.message.includes(`${n}`),
    );
  }
});
