// The WebGPU path end to end, against the cpu backend: a convolution and its gradients, a small
// UNet's forward pass and weight gradients, training with a resume (buffers freed every step),
// sampling, and the rest of the public API. Skipped with a printed reason where Deno finds no
// WebGPU adapter (software Vulkan: `apt-get install mesa-vulkan-drivers`), and on the suite's
// onednn pass, since nothing here depends on the cpu backend in use.
//
// Tolerances: WebGPU computes in float32 like cpu but sums in another order (tiled matrix
// products, tree reductions), so values differ by a few float32 roundings of the largest
// partial sums. Each check below allows |gpu - cpu| <= atol + rtol |cpu| with atol scaled to the
// tensor's largest value; the observed error is printed when the test runs.
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDIMScheduler,
  DDPMScheduler,
  evaluateNll,
  inpaint,
  interpolate,
  loadPretrained,
  loadRun,
  type Preset,
  presets,
  sample,
  saveDiffusers,
  setBackend,
  train,
} from "../mod.ts";
import { mulberry32 } from "../src/random.ts";
import { disposeCheckpoint, globalNorm, loadCheckpoint } from "../src/train/mod.ts";
import { webGpuErrors } from "../src/backends/webgpu/webgpu_errors.ts";
import { conv2d } from "../src/nn/mod.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { makeData } from "./_data.ts";

async function skipReason(): Promise<string | undefined> {
  if (Deno.env.get("DDPM_TEST_BACKEND") === "onednn") return "runs once, on the wasm pass";
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return "navigator.gpu is missing in this Deno";
  // Without XDG_RUNTIME_DIR, Vulkan's Wayland probe prints "error: XDG_RUNTIME_DIR is invalid or
  // not set" into the test log; a private directory of our own silences it.
  if (!Deno.env.get("XDG_RUNTIME_DIR")) Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync());
  try {
    if (!(await gpu.requestAdapter())) return "no WebGPU adapter (install mesa-vulkan-drivers)";
  } catch (err) {
    return `requestAdapter() failed: ${(err as Error).message}`;
  }
  return undefined;
}

const reason = await skipReason();
if (reason) console.log(`webgpu_test: skipped: ${reason}`);

/** The WebGPU device keeps resources alive across the test boundary. */
const GPU_TEST = { ignore: reason !== undefined, sanitizeResources: false, sanitizeOps: false };

/** A UNet small enough for software Vulkan: 8x8 images, two levels, attention at 4x4. */
const SMALL: Preset = {
  ...presets.tiny,
  unet: {
    ...presets.tiny.unet,
    resolution: 8,
    ch: 8,
    chMult: [1, 2],
    numGroups: 4,
    attnResolutions: [4],
    dropout: 0,
  },
  // A constant learning rate: the resumed run below extends `steps`, which would re-spread a
  // cosine decay (the tiny preset's) and make it a different run from the uninterrupted one.
  train: {
    ...presets.tiny.train,
    batchSize: 2,
    steps: 2,
    warmupSteps: 1,
    sampleEvery: 0,
    lrDecay: "constant",
  },
};

/** Largest |x|, for tolerances relative to a tensor's scale. */
const maxAbs = (a: ArrayLike<number>) =>
  Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Largest |a - b| relative to max |b|, for the printed report. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e / Math.max(maxAbs(b), 1e-30);
}

Deno.test({
  name: "the library's conv2d and its custom gradients on webgpu match cpu (stride 1 and 2)",
  ...GPU_TEST,
  fn: async () => {
    const xs = Float32Array.from({ length: 2 * 6 * 6 * 3 }, (_, i) => Math.sin(i * 0.37));
    const ws = Float32Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i * 0.11));
    const run = async (backend: "cpu" | "webgpu") => {
      await setBackend(backend);
      const x = tf.tensor4d(xs, [2, 6, 6, 3]);
      const w = tf.tensor4d(ws, [3, 3, 3, 4]);
      const out: Float32Array[] = [];
      for (const strides of [1, 2]) {
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          conv2d(a as tf.Tensor4D, b as tf.Tensor4D, { strides }).square().sum();
        const y = f(x, w);
        const [dx, dw] = tf.grads(f)([x, w]);
        out.push(...await Promise.all([y, dx, dw].map((t) => t.data() as Promise<Float32Array>)));
        tf.dispose([y, dx, dw]);
      }
      tf.dispose([x, w]);
      return out;
    };
    const cpu = await run("cpu");
    const gpu = await run("webgpu");
    for (let i = 0; i < 6; i++) assertClose(gpu[i], cpu[i], { rtol: 1e-3, atol: 1e-3 });
  },
});

Deno.test({
  name: "globalNorm() on webgpu sums more gradients than a shader can bind",
  ...GPU_TEST,
  fn: async () => {
    await setBackend("webgpu");
    // 40 tensors: WebGPU's AddN would bind them all to one shader (8 storage buffers by
    // default) and fail silently, returning 0.
    const grads = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`g${i}`, tf.fill([3], (i % 7) - 3)]),
    );
    const norm = globalNorm(grads);
    const expected = Math.sqrt(
      Array.from({ length: 40 }, (_, i) => 3 * ((i % 7) - 3) ** 2)
        .reduce((a, b) => a + b),
    );
    assertNear((await norm.data())[0], expected, 1e-5 * expected);
    tf.dispose([norm, ...Object.values(grads)]);
    assert.deepEqual(webGpuErrors(), [], "WebGPU reported errors");
  },
});

/** The UNet's output and its gradients for every weight, on the backend in use. */
async function forwardAndGrads(weights: Map<string, Float32Array>) {
  const unet = createUNet(SMALL.unet, { seed: 1 });
  // Random weights everywhere (a fresh UNet zeroes its last layers, and with them most
  // gradients), drawn on the host so that both backends get the same ones.
  unet.setWeights(
    new Map([...unet.getWeights()].map(([k, v]) => [k, tf.tensor(weights.get(k)!, v.shape)])),
  );
  const r = mulberry32(5);
  const x = tf.tensor4d(Float32Array.from({ length: 3 * 8 * 8 * 3 }, () => r() * 2 - 1), [
    3,
    8,
    8,
    3,
  ]);
  const t = tf.tensor1d([0, 400, 999], "int32");
  const probe = tf.tensor4d(Float32Array.from({ length: 3 * 8 * 8 * 3 }, () => r() - 0.5), [
    3,
    8,
    8,
    3,
  ]);
  const y = unet.predict(x, t);
  const vars = [...unet.getWeights().values()];
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(unet.predict(x, t), probe)), vars);
  const out = new Map<string, Float32Array>([["output", await y.data() as Float32Array]]);
  for (const [name, v] of unet.getWeights()) {
    out.set(name, await grads[v.name].data() as Float32Array);
  }
  tf.dispose([x, t, probe, y, ...Object.values(grads)]);
  unet.dispose();
  return out;
}

Deno.test({
  name: "webgpu runs a small UNet's forward pass and weight gradients like cpu",
  ...GPU_TEST,
  fn: async () => {
    await setBackend("cpu");
    const template = createUNet(SMALL.unet, { seed: 1 });
    const r = mulberry32(3);
    const weights = new Map(
      [...template.getWeights()].map(([k, v]) => [
        k,
        Float32Array.from({ length: v.size }, () => (r() * 2 - 1) * 0.3),
      ]),
    );
    template.dispose();
    const cpu = await forwardAndGrads(weights);
    await setBackend("webgpu");
    const gpu = await forwardAndGrads(weights);
    let worst = 0;
    for (const [name, c] of cpu) {
      // Within 1e-4 of the tensor's largest value (observed: 5e-6 at most), plus 1e-8 for the
      // key biases, whose gradient is 0 up to rounding (softmax ignores a shift of every logit).
      assertClose(gpu.get(name)!, c, { rtol: 0, atol: 1e-4 * maxAbs(c) + 1e-8, msg: name });
      if (maxAbs(c) > 1e-6) worst = Math.max(worst, relErr(gpu.get(name)!, c));
    }
    assert.deepEqual(webGpuErrors(), [], "WebGPU reported errors");
    console.log(
      `webgpu_test: forward and ${cpu.size - 1} gradients within ${worst.toExponential(1)} ` +
        "of each tensor's largest value",
    );
    await setBackend("cpu");
  },
});

/** Model, EMA and Adam state of a checkpoint, read to the host. */
async function readCheckpoint(path: string): Promise<Map<string, Float32Array>> {
  const ckpt = await loadCheckpoint(path);
  const out = new Map<string, Float32Array>();
  for (const group of ["model", "ema", "adamM", "adamV"] as const) {
    for (const [name, t] of ckpt[group] ?? []) {
      out.set(`${group} ${name}`, await t.data() as Float32Array);
    }
  }
  disposeCheckpoint(ckpt);
  return out;
}

/** DDIM samples of a run's EMA model on the backend in use. */
async function sampleRun(dir: string): Promise<Float32Array> {
  const { unet, config } = await loadRun(dir);
  const images = await sample({
    unet,
    scheduler: new DDIMScheduler(config.scheduler),
    batchSize: 2,
    numInferenceSteps: 3,
    seed: 3,
  });
  const out = await images.data() as Float32Array;
  images.dispose();
  unet.dispose();
  return out;
}

Deno.test({
  name:
    "train() on webgpu takes 4 steps and a resumed 5th like cpu, freeing its buffers every step",
  ...GPU_TEST,
  fn: async () => {
    const data = makeData(4, 8);
    const gpuDir = await Deno.makeTempDir();
    const cpuDir = await Deno.makeTempDir();
    try {
      await setBackend("webgpu");
      const memory: string[] = [];
      const gpuPool: number[] = [];
      const onStep = () => {
        const m = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
        memory.push(`${m.numTensors} tensors, ${m.numBytes} bytes`);
        gpuPool.push(m.numBytesAllocatedInGPU ?? NaN);
      };
      const before = tf.memory().numTensors;
      const first = await train({
        outDir: gpuDir,
        preset: SMALL,
        data,
        seed: 2,
        onStep,
        train: { steps: 4 },
      });
      assert.equal(first.step, 4);
      const resumed = await train({
        outDir: gpuDir,
        data,
        resume: true,
        train: { steps: 5 },
        onStep,
      });
      assert.equal(resumed.step, 5);
      assert.equal(tf.memory().numTensors, before, "train() leaves no tensor behind");
      // The same tensors and bytes at every step, in the first run and after the resume.
      assert.equal(new Set(memory).size, 1, memory.join("; "));

      await setBackend("cpu");
      await train({ outDir: cpuDir, preset: SMALL, data, seed: 2, train: { steps: 5 } });
      const gpu = await readCheckpoint(resumed.checkpoint);
      const cpu = await readCheckpoint(`${cpuDir}/checkpoints/step-00000005.safetensors`);
      // The largest value of each group (model, ema, adamM, adamV): the floor of the tolerance
      // for tensors whose gradient is 0 up to rounding (the key biases), where Adam moves noise.
      const groupMax = new Map<string, number>();
      for (const [name, c] of cpu) {
        const group = name.split(" ")[0];
        groupMax.set(group, Math.max(groupMax.get(group) ?? 0, maxAbs(c)));
      }
      let worst = 0;
      for (const [name, c] of cpu) {
        // Within 2e-4 of the tensor's largest value (observed: 5e-5, in weights that start at
        // zero and move by Adam's normalised steps), or 1e-6 of its group's.
        const floor = 1e-6 * groupMax.get(name.split(" ")[0])!;
        assertClose(gpu.get(name)!, c, { rtol: 0, atol: 2e-4 * maxAbs(c) + floor, msg: name });
        if (maxAbs(c) > 1e3 * floor) worst = Math.max(worst, relErr(gpu.get(name)!, c));
      }
      assert.deepEqual(webGpuErrors(), [], "WebGPU reported errors");
      const cpuImages = await sampleRun(cpuDir);
      await setBackend("webgpu");
      const gpuImages = await sampleRun(gpuDir);
      assertClose(gpuImages, cpuImages, { rtol: 0, atol: 1e-3 });
      assert.deepEqual(webGpuErrors(), [], "WebGPU reported errors");
      console.log(
        `webgpu_test: GPU buffers allocated after each step (freed ones are pooled): ${gpuPool}`,
      );
      console.log(
        `webgpu_test: after 5 steps the state is within ${worst.toExponential(1)} of cpu's ` +
          `(relative to each tensor's largest value); samples within ${
            relErr(gpuImages, cpuImages).toExponential(1)
          }`,
      );
    } finally {
      await setBackend("cpu");
      await Deno.remove(gpuDir, { recursive: true });
      await Deno.remove(cpuDir, { recursive: true });
    }
  },
});

/** Likelihood, interpolation, inpainting and the diffusers export of a random-weight UNet. */
async function otherPaths(weights: Map<string, Float32Array>, dir: string) {
  const unet = createUNet(SMALL.unet, { seed: 1 });
  unet.setWeights(
    new Map([...unet.getWeights()].map(([k, v]) => [k, tf.tensor(weights.get(k)!, v.shape)])),
  );
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 20 });
  const r = mulberry32(9);
  const images = tf.tensor4d(
    Float32Array.from({ length: 2 * 8 * 8 * 3 }, () => r() * 2 - 1),
    [2, 8, 8, 3],
  );
  const nll = await evaluateNll({ unet, scheduler, images, numTimesteps: 3, seed: 1 });
  const [a, b] = tf.split(images, 2) as tf.Tensor4D[];
  const row = await interpolate({ unet, scheduler, a, b, t: 2, lambdas: 3 });
  const mask = tf.tidy(() => tf.less(tf.range(0, 8), 4).reshape([1, 8, 1]).tile([8, 1, 1]));
  const filled = await inpaint({ unet, scheduler, image: images, mask, numInferenceSteps: 2 });
  await saveDiffusers(unet, scheduler, dir);
  const out = {
    nll: nll.bitsPerDim,
    row: await row.data() as Float32Array,
    filled: await filled.data() as Float32Array,
    safetensors: await Deno.readFile(`${dir}/diffusion_pytorch_model.safetensors`),
  };
  tf.dispose([images, a, b, row, mask, filled]);
  unet.dispose();
  return out;
}

Deno.test({
  name: "evaluateNll, interpolate, inpaint and saveDiffusers run on webgpu like cpu",
  ...GPU_TEST,
  fn: async () => {
    const r = mulberry32(4);
    await setBackend("cpu");
    const template = createUNet(SMALL.unet, { seed: 1 });
    const weights = new Map(
      [...template.getWeights()].map(([k, v]) => [
        k,
        Float32Array.from({ length: v.size }, () => (r() * 2 - 1) * 0.2),
      ]),
    );
    template.dispose();
    const cpuDir = await Deno.makeTempDir();
    const gpuDir = await Deno.makeTempDir();
    try {
      const cpu = await otherPaths(weights, cpuDir);
      await setBackend("webgpu");
      const gpu = await otherPaths(weights, gpuDir);
      assertNear(gpu.nll, cpu.nll, 1e-4 * Math.abs(cpu.nll));
      assertClose(gpu.row, cpu.row, { rtol: 0, atol: 1e-3 });
      assertClose(gpu.filled, cpu.filled, { rtol: 0, atol: 1e-3 });
      // The weights are only read back, never computed: the files are identical.
      assert.deepEqual(gpu.safetensors, cpu.safetensors);
      const loaded = await loadPretrained(gpuDir);
      assert.equal(
        loaded.unet.numParams(),
        [...weights.values()].reduce((n, w) => n + w.length, 0),
      );
      loaded.unet.dispose();
      assert.deepEqual(webGpuErrors(), [], "WebGPU reported errors");
      console.log(
        `webgpu_test: bits/dim ${gpu.nll.toFixed(4)} (cpu ${cpu.nll.toFixed(4)}); ` +
          `interpolation within ${relErr(gpu.row, cpu.row).toExponential(1)}, inpainting within ${
            relErr(gpu.filled, cpu.filled).toExponential(1)
          }`,
      );
    } finally {
      await setBackend("cpu");
      await Deno.remove(cpuDir, { recursive: true });
      await Deno.remove(gpuDir, { recursive: true });
    }
  },
});
