import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAMES, setBackend } from "../mod.ts";
import { backendCapabilities, backendDescriptor } from "../src/kernels/backend_registry.ts";
import { assert, assertClose } from "./_assert.ts";

Deno.test("setBackend() starts wasm and cpu, and reports the backend in use", async () => {
  assert.equal(await setBackend("wasm"), "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(await setBackend("cpu"), "cpu");
  assert.equal(tf.getBackend(), "cpu");
});

/** Whether oneDNN 2.x loads in this process (as setBackend("auto") will try). */
function oneDnnLoads(): boolean {
  try {
    Deno.dlopen(Deno.env.get("DDPM_ONEDNN_LIB") || "libdnnl.so.2", {}).close();
    return true;
  } catch {
    return false;
  }
}

// set_backend.ts rather than mod.ts: mod.ts loads imagescript, whose native codec needs FFI.
const MOD = new URL("../src/backends/set_backend.ts", import.meta.url).href;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/**
 * setBackend("auto") in a fresh process (this one has chosen backends already), with the
 * given environment and with or without --allow-ffi: the backend it reports, and its log line.
 */
async function autoInChild(opts: { env?: Record<string, string>; ffi: boolean }) {
  const perms = [
    "--allow-read",
    "--allow-env",
    "--allow-sys",
    ...(opts.ffi ? ["--allow-ffi"] : []),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", CONFIG, ...perms, "-"],
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(
      `import { setBackend } from ${
        JSON.stringify(MOD)
      };\nconsole.log(await setBackend("auto"));\n`,
    ),
  );
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return { chosen: dec.decode(out.stdout).trim(), log: stderr };
}

// Choosing a backend does not depend on the one the suite runs on: the onednn pass skips these.
const once = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";
const noOneDnn = oneDnnLoads() ? undefined : "libdnnl.so.2 does not load here";
if (noOneDnn) console.log(`backend_test: "auto picks onednn" skipped: ${noOneDnn}`);

Deno.test({
  name: "setBackend('auto') picks onednn when libdnnl.so.2 loads",
  ignore: noOneDnn !== undefined,
  fn: async () => {
    assert.equal(await setBackend("auto"), "onednn");
  },
});

Deno.test({
  name: "setBackend('auto') falls back to wasm when oneDNN cannot load, and says why",
  ignore: once,
  fn: async () => {
    const missing = "/nonexistent/libdnnl.so.2";
    const r = await autoInChild({ env: { DDPM_ONEDNN_LIB: missing }, ffi: true });
    assert.equal(r.chosen, "wasm", r.log);
    assert.match(r.log, /using TensorFlow\.js backend "wasm" \(no onednn: .*could not be loaded/);
    assert.ok(r.log.includes(missing), r.log);
  },
});

Deno.test({
  name: "setBackend('auto') falls back to wasm without --allow-ffi, and says why",
  ignore: once,
  fn: async () => {
    const r = await autoInChild({ ffi: false });
    assert.equal(r.chosen, "wasm", r.log);
    assert.match(r.log, /no onednn: .*needs FFI: run deno with --allow-ffi/);
  },
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

Deno.test("setBackend() leaves each backend's descriptor in the registry the core asks", async () => {
  await setBackend("cpu");
  const native = (name: string) => {
    const c = backendCapabilities(name);
    return [c.nativeMatMul, c.nativeConvGradients];
  };
  // The products and gradients the layers rewrite on wasm and cpu, and call natively elsewhere.
  assert.deepEqual(native("cpu"), [false, false]);
  assert.deepEqual(native("wasm"), [false, false]);
  for (const gpuOrNative of ["onednn", "webgpu", "tensorflow"]) {
    assert.deepEqual(native(gpuOrNative), [true, true], gpuOrNative);
  }
  for (const name of BACKEND_NAMES.filter((n) => n !== "auto")) {
    const d = backendDescriptor(name);
    assert.ok(d, `${name} has a descriptor`);
    assert.ok(d.capabilities.precisions.includes("fp32"), name);
  }
  assert.equal(backendCapabilities(), backendCapabilities("cpu"), "default: the backend in use");
  // A backend set with tf.setBackend alone is plain: nothing native, no known limit.
  assert.deepEqual(native("no-such-backend"), [false, false]);
  assert.equal(backendDescriptor("no-such-backend"), undefined);
});
