// Everything a user runs on a GPU backend, on a backend whose synchronous reads throw (see
// _no_sync_read_backend.ts): training with a resume, sampling with both
// schedulers, the likelihood bound, interpolation, inpainting, and the diffusers export. A
// `dataSync` anywhere on these paths fails this test, as it would fail on WebGPU under Deno.
import * as tf from "@tensorflow/tfjs";
import {
  createAdamState,
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
  saveGif,
  saveGrid,
  train,
  trainStep,
} from "../mod.ts";
import { disposeCheckpoint, loadCheckpoint } from "../src/train/mod.ts";
import { assert, assertClose } from "./_assert.ts";
import { makeData } from "./_data.ts";
import {
  asyncReads,
  NO_SYNC_READ_BACKEND,
  registerNoSyncReadBackend,
  SyncReadError,
} from "./_no_sync_read_backend.ts";

// The paths checked do not depend on the tensor backend: run them once, not on the onednn pass.
const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";

/** A model small enough for plain-JS kernels: 8x8 images, two levels, attention at 4x4. */
const SMALL: Preset = {
  ...presets.tiny,
  unet: {
    ...presets.tiny.unet,
    resolution: 8,
    ch: 8,
    chMult: [1, 2],
    numGroups: 4,
    attnResolutions: [4],
    dropout: 0.1,
  },
  // No progress grids: 200 steps of 16 images take 25 s on plain-JS kernels, and they are
  // sample() and saveGrid(), both checked below.
  train: { ...presets.tiny.train, batchSize: 2, steps: 2, warmupSteps: 1, sampleEvery: 0 },
};

Deno.test({
  name: "the no-sync-read backend throws on dataSync, arraySync, bufferSync and print only",
  ignore,
  fn: async () => {
    await tf.setBackend(registerNoSyncReadBackend());
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    assert.throws(() => x.dataSync(), SyncReadError);
    assert.throws(() => x.arraySync(), SyncReadError);
    assert.throws(() => x.bufferSync(), SyncReadError);
    assert.throws(() => x.print(), SyncReadError);
    assert.deepEqual([...await x.data()], [1, 2, 3, 4]);
    // Kernels that read their inputs through readSync (Tile and Reverse on cpu) still run.
    const y = tf.reverse(tf.tile(x, [1, 2]), 1);
    assert.deepEqual(await y.array(), [[2, 1, 2, 1], [4, 3, 4, 3]]);
    tf.dispose([x, y]);
  },
});

Deno.test({
  name: "trainStep() reads back once per step (loss and norm together), in micro-batches too",
  ignore,
  fn: async () => {
    await tf.setBackend(registerNoSyncReadBackend());
    const unet = createUNet(SMALL.unet, { seed: 1 });
    const weights = unet.getWeights();
    const ema = new Map([...weights].map(([k, w]) => [k, tf.tidy(() => tf.variable(w.clone()))]));
    const state = {
      unet,
      weights,
      adam: createAdamState(weights),
      ema,
      scheduler: new DDPMScheduler(),
    };
    const x0 = tf.zeros([3, 8, 8, 3]) as tf.Tensor4D;
    for (const microBatchSize of [3, 1]) {
      const reads = asyncReads.count;
      const { loss, gradNorm } = await trainStep(state, {
        x0,
        t: Int32Array.of(5, 500, 995),
        noiseSeed: 1,
        dropoutSeed: 2,
        learningRate: 1e-4,
        step: 1,
        microBatchSize,
      }, SMALL.train);
      assert.equal(asyncReads.count - reads, 1, `reads with micro-batches of ${microBatchSize}`);
      assert.ok(loss > 0.1 && gradNorm > 0, `loss ${loss}, norm ${gradNorm}`);
    }
    unet.dispose();
    tf.dispose([x0, ...ema.values(), ...state.adam.m.values(), ...state.adam.v.values()]);
    await tf.setBackend("cpu");
  },
});

Deno.test({
  name: "train (with resume), sample, evaluateNll, interpolate, inpaint and saveDiffusers " +
    "make no synchronous read",
  ignore,
  fn: async () => {
    await tf.setBackend(registerNoSyncReadBackend());
    assert.equal(tf.getBackend(), NO_SYNC_READ_BACKEND);
    const before = tf.memory().numTensors;
    const dir = await Deno.makeTempDir();
    try {
      const data = makeData(4, 8);
      // Two steps, then one more on resume.
      const first = await train({ outDir: dir, preset: SMALL, data, seed: 1 });
      assert.equal(first.step, 2);
      const resumed = await train({ outDir: dir, data, resume: true, train: { steps: 3 } });
      assert.equal(resumed.step, 3);
      assert.ok(Number.isFinite(resumed.loss), `loss ${resumed.loss}`);
      const ckpt = await loadCheckpoint(resumed.checkpoint);
      const moved = await ckpt.model.get("conv_in.weight")!.data();
      disposeCheckpoint(ckpt);
      assert.ok(moved.every(Number.isFinite));

      const { unet, config } = await loadRun(dir);
      const ddpm = new DDPMScheduler(config.scheduler);
      const frames: tf.Tensor4D[] = [];
      const images = await sample({
        unet,
        scheduler: ddpm,
        batchSize: 3,
        numInferenceSteps: 3,
        chunkSize: 2,
        seed: 2,
        onStep: ({ predOriginalSample }) => void frames.push(predOriginalSample.clone()),
      });
      const ddim = await sample({
        unet,
        scheduler: new DDIMScheduler(config.scheduler),
        batchSize: 2,
        numInferenceSteps: 2,
        eta: 0.5,
      });
      await saveGrid(images, `${dir}/grid.png`, { cols: 3 });
      await saveGif(frames, `${dir}/frames.gif`);

      const nll = await evaluateNll({ unet, scheduler: ddpm, images: ddim, numTimesteps: 3 });
      assert.ok(Number.isFinite(nll.bitsPerDim), `bits/dim ${nll.bitsPerDim}`);
      const [a, b] = tf.split(ddim, 2) as tf.Tensor4D[];
      const row = await interpolate({ unet, scheduler: ddpm, a, b, t: 3, lambdas: 3 });
      const mask = tf.tidy(() => tf.less(tf.range(0, 8), 4).reshape([1, 8, 1]).tile([8, 1, 1]));
      const filled = await inpaint({
        unet,
        scheduler: ddpm,
        image: ddim,
        mask,
        numInferenceSteps: 3,
        resampleSteps: 2,
      });
      for (const t of [images, ddim, row, filled]) {
        assert.ok((await t.data()).every(Number.isFinite), `finite output [${t.shape}]`);
      }

      await saveDiffusers(unet, ddpm, `${dir}/diffusers`);
      const loaded = await loadPretrained(`${dir}/diffusers`);
      for (const [name, w] of unet.getWeights()) {
        const back = loaded.unet.getWeights().get(name)!;
        assertClose(await back.data(), await w.data(), { rtol: 0, atol: 0, msg: name });
      }
      loaded.unet.dispose();
      unet.dispose();
      tf.dispose([images, ddim, a, b, row, mask, filled, ...frames]);
      assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    } finally {
      await Deno.remove(dir, { recursive: true });
      await tf.setBackend("cpu");
    }
  },
});
