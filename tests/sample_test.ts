import * as tf from "@tensorflow/tfjs";
import { createUNet, DDIMScheduler, DDPMScheduler, presets, sample, setBackend } from "../mod.ts";
import { assert, assertClose } from "./_assert.ts";

await setBackend("cpu");

/**
 * A "model" that knows the one image it should produce: it returns the exact noise
 * eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t), so the reverse process must land on x0.
 */
function oracle(x0: tf.Tensor4D, alphasCumprod: Float64Array) {
  return {
    config: { resolution: x0.shape[1], inChannels: x0.shape[3] },
    predict(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
      return tf.tidy(() => {
        const abar = alphasCumprod[t.dataSync()[0]];
        const target = tf.broadcastTo(x0, x.shape);
        return tf.div(tf.sub(x, tf.mul(target, Math.sqrt(abar))), Math.sqrt(1 - abar));
      });
    },
  };
}

const target = tf.tidy(() =>
  tf.tensor4d(Float32Array.from({ length: 6 * 6 * 3 }, (_, i) => Math.sin(i) * 0.9), [
    1,
    6,
    6,
    3,
  ])
);

Deno.test("sample() with DDIM and an exact-noise model lands on the model's image", async () => {
  const scheduler = new DDIMScheduler();
  const images = await sample({
    unet: oracle(target, scheduler.alphasCumprod),
    scheduler,
    batchSize: 3,
    numInferenceSteps: 50,
    seed: 4,
  });
  const expected = tf.tidy(() => tf.tile(target, [3, 1, 1, 1]).dataSync());
  assertClose(images.dataSync(), expected, { atol: 1e-3 });
  images.dispose();
});

Deno.test("sample() with ancestral DDPM over 100 strided steps lands on the model's image", async () => {
  const scheduler = new DDPMScheduler({ varianceType: "fixed_large" });
  const images = await sample({
    unet: oracle(target, scheduler.alphasCumprod),
    scheduler,
    batchSize: 2,
    numInferenceSteps: 100,
    seed: 5,
  });
  const expected = tf.tidy(() => tf.tile(target, [2, 1, 1, 1]).dataSync());
  assertClose(images.dataSync(), expected, { atol: 1e-3 });
  images.dispose();
});

const small = { ...presets.tiny.unet, resolution: 8, ch: 16, chMult: [1, 2], numGroups: 4 };

Deno.test("sample() gives identical images for a seed, different ones for another", async () => {
  const unet = createUNet(small, { seed: 1 });
  // Perturb the zero-initialised output layer so the model's prediction is not trivially 0.
  for (const [name, w] of unet.getWeights()) {
    if (name === "conv_out.weight") w.assign(tf.randomNormal(w.shape, 0, 0.1, "float32", 9));
  }
  const run = (seed: number) =>
    sample({ unet, scheduler: new DDPMScheduler(), batchSize: 2, numInferenceSteps: 10, seed });
  const [a, b, c] = [await run(7), await run(7), await run(8)];
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assert.ok(a.dataSync().some((v, i) => v !== c.dataSync()[i]));
  tf.dispose([a, b, c]);
  unet.dispose();
});

Deno.test("sample() calls onStep once per step and splits chunks without changing DDIM results", async () => {
  const unet = createUNet(small, { seed: 2 });
  for (const [name, w] of unet.getWeights()) {
    if (name === "conv_out.weight") w.assign(tf.randomNormal(w.shape, 0, 0.1, "float32", 9));
  }
  const seen: number[] = [];
  const whole = await sample({
    unet,
    scheduler: new DDIMScheduler(),
    batchSize: 5,
    numInferenceSteps: 6,
    seed: 3,
    onStep: ({ step, numSteps, predOriginalSample }) => {
      assert.equal(numSteps, 6);
      assert.deepEqual(predOriginalSample.shape, [5, 8, 8, 3]);
      seen.push(step);
    },
  });
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
  const before = tf.memory().numTensors;
  const chunked = await sample({
    unet,
    scheduler: new DDIMScheduler(),
    batchSize: 5,
    numInferenceSteps: 6,
    seed: 3,
    chunkSize: 2,
  });
  // Only the result is left behind.
  assert.equal(tf.memory().numTensors, before + 1);
  assertClose(chunked.dataSync(), whole.dataSync(), { atol: 1e-5 });
  tf.dispose([whole, chunked]);
  unet.dispose();
});

Deno.test("sample() rejects a batch size of 0 with a RangeError", async () => {
  const unet = createUNet(small);
  await assert.rejects(
    () => sample({ unet, scheduler: new DDIMScheduler(), batchSize: 0 }),
    (err: unknown) => err instanceof RangeError && /batchSize/.test(err.message),
  );
  unet.dispose();
});

Deno.test("sample() with DDPM noise gives the same images whatever the chunk size", async () => {
  await setBackend("cpu");
  const unet = createUNet(small);
  const run = (chunkSize?: number) =>
    sample({
      unet,
      scheduler: new DDPMScheduler(),
      batchSize: 5,
      numInferenceSteps: 4,
      seed: 9,
      chunkSize,
    });
  const whole = await run(); // cpu: no memory limit, one pass
  const before = tf.memory().numTensors;
  const chunked = await run(2);
  assert.equal(tf.memory().numTensors, before + 1, "only the result is left behind");
  assertClose(chunked.dataSync(), whole.dataSync(), { atol: 1e-5 });
  tf.dispose([whole, chunked]);
  unet.dispose();
});
