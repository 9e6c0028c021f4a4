import * as tf from "@tensorflow/tfjs";
import {
  InputError,
  type Preset,
  presets,
  setBackend,
  train,
  TrainingDivergedError,
} from "../mod.ts";
import { loadCheckpoint } from "../src/train/mod.ts";
import { makeData } from "./_data.ts";
import { assert, assertClose } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

/** A model small enough to train on the cpu backend in seconds. */
const SMALL: Preset = {
  ...presets.tiny,
  unet: {
    ...presets.tiny.unet,
    resolution: 8,
    ch: 16,
    chMult: [1, 2],
    numGroups: 4,
    attnResolutions: [4],
    dropout: 0.1,
  },
  train: {
    ...presets.tiny.train,
    batchSize: 2,
    steps: 20,
    warmupSteps: 5,
    checkpointEvery: 10,
    sampleEvery: 0,
    emaDecay: 0.9,
  },
};

Deno.test("train() for 20 steps equals 10 steps, a stop and a resumed 10, on cpu", async () => {
  await setBackend("cpu");
  const data = makeData(6, 8);
  const straight = await Deno.makeTempDir();
  const split = await Deno.makeTempDir();
  try {
    // With the cosine decay, so that the resumed steps must also find their place on the curve.
    const preset = { ...SMALL, train: { ...SMALL.train, lrDecay: "cosine" as const } };
    const a = await train({ outDir: straight, preset, data, seed: 3 });
    assert.equal(a.step, 20);
    const stop = new AbortController();
    const half = await train({
      outDir: split,
      preset,
      data,
      seed: 3,
      signal: stop.signal,
      onStep: (m) => void (m.step === 10 && stop.abort()),
    });
    assert.equal(half.step, 10);
    const b = await train({ outDir: split, data, resume: true });
    assert.equal(b.step, 20);
    const ca = await loadCheckpoint(a.checkpoint);
    const cb = await loadCheckpoint(b.checkpoint);
    for (const group of ["model", "ema", "adamM", "adamV"] as const) {
      for (const [name, t] of ca[group]!) {
        assertClose(cb[group]!.get(name)!.dataSync(), t.dataSync(), {
          rtol: 1e-6,
          atol: 1e-6,
          msg: `${group} ${name}`,
        });
      }
    }
    // The weights moved: the run did train.
    const fresh = await train({
      outDir: await Deno.makeTempDir(),
      preset: SMALL,
      data,
      seed: 3,
      train: { steps: 1 },
    });
    const c1 = await loadCheckpoint(fresh.checkpoint);
    const w20 = ca.model.get("conv_in.weight")!.dataSync(),
      w1 = c1.model.get("conv_in.weight")!.dataSync();
    assert.ok(w20.some((v, i) => Math.abs(v - w1[i]) > 1e-4));
  } finally {
    await Deno.remove(straight, { recursive: true });
    await Deno.remove(split, { recursive: true });
  }
});

Deno.test("train() leaves tf.memory().numTensors flat over 50 steps", async () => {
  await setBackend(FAST_BACKEND);
  const dir = await Deno.makeTempDir();
  const before = tf.memory().numTensors;
  const counts: number[] = [];
  await train({
    outDir: dir,
    preset: SMALL,
    data: makeData(4, 8),
    train: { steps: 50, checkpointEvery: 25 },
    onStep: () => counts.push(tf.memory().numTensors),
  });
  assert.equal(Math.max(...counts.slice(1)), Math.min(...counts.slice(1)), `counts ${counts}`);
  assert.equal(tf.memory().numTensors, before);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train() skips non-finite steps, then stops with a clear error and keeps the checkpoint", async () => {
  await setBackend("cpu");
  const dir = await Deno.makeTempDir();
  const good = makeData(4, 8);
  // Healthy for 10 steps (one checkpoint), then every batch is NaN.
  let calls = 0;
  const data = {
    ...good,
    getBatch: (idx: number[], o?: { flip?: boolean[] }) =>
      ++calls > 10 ? tf.fill([idx.length, 8, 8, 3], NaN) as tf.Tensor4D : good.getBatch(idx, o),
  };
  await assert.rejects(
    () => train({ outDir: dir, preset: SMALL, data, maxBadSteps: 3 }),
    (err: unknown) =>
      err instanceof TrainingDivergedError && /3 steps in a row/.test(err.message) &&
      /step-00000010/.test(err.message),
  );
  const ckpt = await loadCheckpoint(`${dir}/checkpoints/step-00000010.safetensors`);
  assert.equal(ckpt.step, 10);
  for (const t of ckpt.model.values()) assert.ok(t.dataSync().every(Number.isFinite));
  const metrics = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.equal(metrics.filter((m) => m.skipped).length, 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train() refuses to overwrite a run without resume", async () => {
  await setBackend("cpu");
  const dir = await Deno.makeTempDir();
  const data = makeData(4, 8);
  await train({ outDir: dir, preset: SMALL, data, train: { steps: 2 } });
  await assert.rejects(
    () => train({ outDir: dir, preset: SMALL, data, train: { steps: 2 } }),
    (err: unknown) => err instanceof InputError && /--resume/.test(err.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train() lowers the loss of a small model clearly over 80 steps on wasm", async () => {
  await setBackend(FAST_BACKEND);
  const dir = await Deno.makeTempDir();
  const losses: number[] = [];
  const preset: Preset = {
    ...SMALL,
    unet: { ...SMALL.unet, ch: 32, numGroups: 8, dropout: 0 },
  };
  await train({
    outDir: dir,
    preset,
    data: makeData(16, 8),
    train: { steps: 80, batchSize: 8, learningRate: 2e-3, warmupSteps: 20, checkpointEvery: 80 },
    onStep: (m) => losses.push(m.loss),
  });
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const first = mean(losses.slice(0, 20)), last = mean(losses.slice(-30));
  console.log(`loss: first 20 steps ${first.toFixed(3)}, last 30 ${last.toFixed(3)}`);
  // A zero-initialised output predicts eps = 0, so the loss starts near E[eps^2] = 1.
  assert.ok(first > 0.6, `first losses ${first}`);
  assert.ok(last < 0.5 * first, `loss fell only from ${first} to ${last}`);
  await Deno.remove(dir, { recursive: true });
});
