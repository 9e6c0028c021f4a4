import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { assert, assertClose } from "./_assert.ts";

Deno.test("setBackend() starts wasm and cpu, and reports the backend in use", async () => {
  assert.equal(await setBackend("wasm"), "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(await setBackend("cpu"), "cpu");
  assert.equal(tf.getBackend(), "cpu");
});

Deno.test("setBackend('auto') picks onednn when libdnnl.so.2 loads, else wasm", async () => {
  // tfjs-node cannot be installed on CI machines (its install script downloads libtensorflow),
  // so the choice is between onednn and wasm; the test opens the library itself to know which.
  let hasOneDnn = true;
  try {
    Deno.dlopen("libdnnl.so.2", {}).close();
  } catch {
    hasOneDnn = false;
  }
  assert.equal(await setBackend("auto"), hasOneDnn ? "onednn" : "wasm");
});

Deno.test("setBackend() rejects an unknown name with a RangeError naming it", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => setBackend("cuda" as any),
    (err: unknown) => err instanceof RangeError && /"cuda"/.test(err.message),
  );
});

Deno.test("setBackend('tensorflow') fails with an error that says what to install", async () => {
  if (tf.findBackend("tensorflow")) return;
  await assert.rejects(
    () => setBackend("tensorflow"),
    (err: unknown) => err instanceof Error && /tfjs-node-gpu/.test(err.message),
  );
});

Deno.test("wasm computes a 3x3 convolution like cpu", async () => {
  const x = tf.tidy(() => tf.randomNormal([2, 8, 8, 4], 0, 1, "float32", 1)) as tf.Tensor4D;
  const w = tf.tidy(() => tf.randomNormal([3, 3, 4, 5], 0, 1, "float32", 2)) as tf.Tensor4D;
  const xs = await x.data(), ws = await w.data();
  const run = async (backend: "cpu" | "wasm") => {
    await setBackend(backend);
    return tf.tidy(() =>
      tf.conv2d(tf.tensor4d(xs, x.shape), tf.tensor4d(ws, w.shape), 1, "same").dataSync()
    );
  };
  const cpu = await run("cpu");
  const wasm = await run("wasm");
  assertClose(wasm, cpu, { rtol: 1e-4, atol: 1e-4 });
  x.dispose();
  w.dispose();
});
