import * as tf from "@tensorflow/tfjs";
import {
  createAdamState,
  createUNet,
  DDPMScheduler,
  presets,
  setBackend,
  train,
  trainStep,
} from "../mod.ts";
import { disposeCheckpoint, loadCheckpoint } from "../src/train/mod.ts";
import { makeData } from "./_data.ts";
import { batchGradients, microBatches } from "../src/train/batch_gradients.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";

/** A model small enough for the cpu backend, with dropout off so passes are deterministic. */
const UNET = {
  ...presets.tiny.unet,
  resolution: 8,
  ch: 16,
  chMult: [1, 2],
  numGroups: 4,
  attnResolutions: [4],
  dropout: 0,
};

function makeState() {
  const unet = createUNet(UNET, { seed: 7 });
  const weights = unet.getWeights();
  const ema = new Map([...weights].map(([k, w]) => [k, tf.tidy(() => tf.variable(w.clone()))]));
  return {
    unet,
    weights,
    adam: createAdamState(weights),
    ema,
    scheduler: new DDPMScheduler(presets.tiny.scheduler),
  };
}

function disposeState(s: ReturnType<typeof makeState>) {
  s.unet.dispose();
  tf.dispose([...s.ema.values(), ...s.adam.m.values(), ...s.adam.v.values()]);
}

Deno.test("microBatches() splits a batch into near-equal passes covering it once", () => {
  assert.deepEqual(microBatches(8, 8), [[0, 8]]);
  assert.deepEqual(microBatches(8, 100), [[0, 8]]);
  assert.deepEqual(microBatches(5, 2), [[0, 2], [2, 2], [4, 1]]);
  assert.deepEqual(microBatches(128, 48), [[0, 43], [43, 43], [86, 42]]);
  assert.throws(() => microBatches(8, 0), RangeError);
});

Deno.test("trainStep() with micro-batches equals one full-batch step within 1e-5, on cpu", async () => {
  await setBackend("cpu");
  const before = tf.memory().numTensors;
  const x0 = tf.tidy(() => tf.randomUniform([5, 8, 8, 3], -1, 1, "float32", 3)) as tf.Tensor4D;
  const inputs = {
    x0,
    t: Int32Array.of(0, 250, 500, 750, 999),
    noiseSeed: 11,
    dropoutSeed: 12,
    learningRate: 1e-4,
    step: 1,
  };
  const cfg = { ...presets.tiny.train, gradClipNorm: 0, emaDecay: 0.5 };

  // Gradients: the independent reference is the plain mean loss over all 5 images.
  const ref = makeState();
  const full = batchGradients(ref, inputs);
  const split = batchGradients(ref, { ...inputs, microBatchSize: 2 });
  assertNear((await split.loss.data())[0], (await full.loss.data())[0], 1e-6, "loss");
  let norm = 0;
  for (const [name, g] of Object.entries(full.grads)) {
    const gd = g.dataSync();
    for (const v of gd) norm += v * v;
    assertClose(split.grads[name].dataSync(), gd, { rtol: 1e-4, atol: 1e-6, msg: name });
  }
  assert.ok(norm > 1e-6, "the gradient is not trivially zero");
  tf.dispose([full.loss, split.loss, ...Object.values(full.grads), ...Object.values(split.grads)]);
  disposeState(ref);

  // One whole Adam step, weights and EMA after it.
  const a = makeState();
  const b = makeState();
  const ra = await trainStep(a, inputs, cfg);
  const rb = await trainStep(b, { ...inputs, microBatchSize: 2 }, cfg);
  assertNear(rb.loss, ra.loss, 1e-5, "loss");
  assertNear(rb.gradNorm, ra.gradNorm, 1e-5 * ra.gradNorm, "gradient norm");
  for (const [name, w] of a.weights) {
    assertClose(b.weights.get(name)!.dataSync(), w.dataSync(), { rtol: 0, atol: 1e-5, msg: name });
    assertClose(b.ema.get(name)!.dataSync(), a.ema.get(name)!.dataSync(), {
      rtol: 0,
      atol: 1e-5,
      msg: `ema ${name}`,
    });
  }
  disposeState(a);
  disposeState(b);
  x0.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("train() with --micro-batch 1 matches the whole batch and records it in config.json", async () => {
  await setBackend("cpu");
  const before = tf.memory().numTensors;
  const data = makeData(6, 8);
  const preset = {
    ...presets.tiny,
    unet: UNET,
    train: { ...presets.tiny.train, batchSize: 3, steps: 3, sampleEvery: 0, warmupSteps: 1 },
  };
  const whole = await Deno.makeTempDir();
  const split = await Deno.makeTempDir();
  try {
    const a = await train({ outDir: whole, preset, data, seed: 5 });
    const b = await train({ outDir: split, preset, data, seed: 5, train: { microBatchSize: 1 } });
    const ca = await loadCheckpoint(a.checkpoint);
    const cb = await loadCheckpoint(b.checkpoint);
    for (const [name, w] of ca.model) {
      assertClose(cb.model.get(name)!.dataSync(), w.dataSync(), { rtol: 0, atol: 1e-5, msg: name });
    }
    disposeCheckpoint(ca);
    disposeCheckpoint(cb);
    // cpu has no memory limit: the whole batch, chosen and stored; the given value is stored too.
    const cfg = async (dir: string) =>
      JSON.parse(await Deno.readTextFile(`${dir}/config.json`)).train.microBatchSize;
    assert.equal(await cfg(whole), 3);
    assert.equal(await cfg(split), 1);
  } finally {
    await Deno.remove(whole, { recursive: true });
    await Deno.remove(split, { recursive: true });
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("train() in micro-batches, with dropout, resumes exactly", async () => {
  await setBackend("cpu");
  const data = makeData(6, 8);
  const preset = {
    ...presets.tiny,
    unet: { ...UNET, dropout: 0.1 },
    train: {
      ...presets.tiny.train,
      batchSize: 3,
      microBatchSize: 2,
      steps: 4,
      checkpointEvery: 2,
      sampleEvery: 0,
      warmupSteps: 1,
    },
  };
  const straight = await Deno.makeTempDir();
  const split = await Deno.makeTempDir();
  try {
    const a = await train({ outDir: straight, preset, data, seed: 8 });
    await train({ outDir: split, preset, data, seed: 8, train: { steps: 2 } });
    const b = await train({ outDir: split, data, resume: true, train: { steps: 4 } });
    const ca = await loadCheckpoint(a.checkpoint);
    const cb = await loadCheckpoint(b.checkpoint);
    for (const [name, w] of ca.model) {
      assertClose(cb.model.get(name)!.dataSync(), w.dataSync(), { rtol: 0, atol: 1e-7, msg: name });
    }
    disposeCheckpoint(ca);
    disposeCheckpoint(cb);
  } finally {
    await Deno.remove(straight, { recursive: true });
    await Deno.remove(split, { recursive: true });
  }
});
