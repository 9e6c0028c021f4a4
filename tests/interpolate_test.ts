import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../src/backends/set_backend.ts";
import { DDIMScheduler } from "../src/diffusion/ddim_scheduler.ts";
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { interpolate } from "../src/diffusion/interpolate.ts";
import { createUNetFromConfig } from "../src/nn/create_unet_from_config.ts";
import { presets } from "../src/presets/presets.ts";
import { assert, assertClose } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

const CONFIG = { ...presets.tiny.unet, resolution: 8 };

function pattern(seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.randomUniform([1, 8, 8, 3], -1, 1, "float32", seed) as tf.Tensor4D);
}

Deno.test("interpolate() at t = 0 returns a and b exactly at lambda 0 and 1", async () => {
  await setBackend("cpu");
  const unet = createUNetFromConfig(CONFIG, { seed: 1 });
  const a = pattern(1), b = pattern(2);
  const before = tf.memory().numTensors;
  const row = await interpolate({
    unet,
    scheduler: new DDPMScheduler(),
    a,
    b,
    t: 0,
    lambdas: [0, 0.25, 1],
  });
  assert.deepEqual(row.shape, [3, 8, 8, 3]);
  const rows = tf.unstack(row);
  assert.deepEqual(Array.from(rows[0].dataSync()), Array.from(a.dataSync()));
  assert.deepEqual(Array.from(rows[2].dataSync()), Array.from(b.dataSync()));
  // The quarter point is the pixel-space mixture, computed independently in float64.
  const av = a.dataSync(), bv = b.dataSync();
  assertClose(rows[1].dataSync(), Array.from(av, (v, i) => 0.75 * v + 0.25 * bv[i]), {
    atol: 1e-6,
  });
  tf.dispose([row, ...rows]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b]);
  unet.dispose();
});

Deno.test("interpolate() diffuses a and b with one noise and denoises t steps", async () => {
  await setBackend(FAST_BACKEND);
  const unet = createUNetFromConfig(CONFIG, { seed: 1 });
  const a = pattern(3), b = pattern(4);
  const scheduler = new DDIMScheduler({ numTrainTimesteps: 20 });
  const before = tf.memory().numTensors;
  const seen: number[] = [];
  const opts = { unet, scheduler, a, b, t: 5, lambdas: 3, seed: 9 };
  const row = await interpolate({ ...opts, onStep: ({ t }) => void seen.push(t) });
  assert.deepEqual(seen, [4, 3, 2, 1, 0]);
  // Deterministic DDIM: the same seed gives the same row. With b = a every mixture must be
  // a's own latent, which holds only if a and b were diffused with the same noise.
  const again = await interpolate(opts);
  assertClose(row.dataSync(), again.dataSync(), { atol: 0 });
  const onlyA = await interpolate({ ...opts, b: a, lambdas: [0, 0.5] });
  const rows = tf.unstack(row);
  const [r0, , r2] = rows;
  const aRows = tf.unstack(onlyA);
  assertClose(aRows[0].dataSync(), r0.dataSync(), { atol: 1e-5 });
  assertClose(aRows[1].dataSync(), r0.dataSync(), { atol: 1e-5 });
  // The ends differ from the inputs (they were noised and denoised) and from each other.
  const diff = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => x.sub(y).abs().max().dataSync()[0]);
  assert.ok(diff(r0, a) > 1e-3 && diff(r0, r2) > 1e-3);
  tf.dispose([row, again, onlyA, ...rows, ...aRows]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b]);
  unet.dispose();
});

Deno.test("interpolate() rejects t outside [0, T] and mismatched shapes", async () => {
  await setBackend("cpu");
  const unet = createUNetFromConfig(CONFIG, { seed: 1 });
  const a = pattern(1);
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 10 });
  await assert.rejects(interpolate({ unet, scheduler, a, b: a, t: 11, lambdas: 2 }), RangeError);
  await assert.rejects(interpolate({ unet, scheduler, a, b: a, t: 1, lambdas: 1 }), RangeError);
  const c = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
  await assert.rejects(interpolate({ unet, scheduler, a, b: c, t: 0, lambdas: 2 }), TypeError);
  tf.dispose([a, c]);
  unet.dispose();
});
