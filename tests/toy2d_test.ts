// End-to-end proof of the scheduler math: train a small MLP noise predictor on a 2-D mixture of
// eight Gaussians with L_simple, sample it with DDPM (1000 steps) and DDIM (50 steps), and
// compare the samples with held-out data. An untrained model and a model with the wrong sign
// of eps must fail the same check, and the mixture's exact eps must pass it.
import * as tf from "@tensorflow/tfjs";
import { DDIMScheduler, DDPMScheduler, type NoiseScheduler, setBackend } from "../mod.ts";
import {
  energyDistance,
  modeMasses,
  ringEps,
  sampleRing,
  sampleToy,
  ToyMlp,
  trainToy,
} from "./_toy_mlp.ts";
import { assert } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

await setBackend(FAST_BACKEND);

const N = 600;
const HELD_OUT = sampleRing(1000, 424242);

/**
 * The statistic: samples "match" the ring when
 * (a) the energy distance to 1000 held-out points is below 0.02 (two data sets of these sizes
 *     differ by about 0.005; an untrained model scores about 0.3),
 * (b) at least 80% of samples lie within 0.2 (4 standard deviations) of a mode centre, and
 * (c) each of the 8 modes holds between 1/16 and 1/4 of the samples within 0.3 of it
 *     (1/8 each in the data).
 */
function stats(points: Float32Array) {
  const near = modeMasses(points, 0.2);
  const masses = modeMasses(points, 0.3).perMode;
  const ed = energyDistance(points, HELD_OUT);
  const ok = ed < 0.02 && 1 - near.off >= 0.8 &&
    masses.every((m) => m >= 1 / 16 && m <= 1 / 4);
  const summary = `energy distance ${ed.toFixed(4)}, near a mode ${(1 - near.off).toFixed(3)}, ` +
    `mode masses ${masses.map((m) => m.toFixed(3)).join(" ")}`;
  return { ok, summary };
}

function exactSamples(s: NoiseScheduler, seed: number): Float32Array {
  let x = tf.randomNormal([N, 1, 1, 2], 0, 1, "float32", seed) as tf.Tensor4D;
  s.timesteps.forEach((t, i) => {
    const eps = tf.tensor4d(ringEps(x.dataSync() as Float32Array, s.alphasCumprod[t]), x.shape);
    const r = s.step(eps, t, x, { seed: seed + i });
    tf.dispose([x, eps, r.predOriginalSample]);
    x = r.prevSample;
  });
  const out = x.dataSync() as Float32Array;
  x.dispose();
  return out;
}

Deno.test("held-out ring data passes the statistic and the exact eps samples pass it", () => {
  assert.ok(stats(sampleRing(N, 5)).ok, stats(sampleRing(N, 5)).summary);
  const ddim = new DDIMScheduler();
  ddim.setTimesteps(50);
  const exact = stats(exactSamples(ddim, 9));
  assert.ok(exact.ok, `exact eps, DDIM 50: ${exact.summary}`);
});

Deno.test("DDPM and DDIM sample a trained toy model; untrained and sign-flipped ones fail", () => {
  const before = tf.memory().numTensors;
  const ddpm = new DDPMScheduler();
  const ddim = new DDIMScheduler();
  ddim.setTimesteps(50);
  const ddpm100 = new DDPMScheduler();
  ddpm100.setTimesteps(100);

  const model = new ToyMlp(1, 1000);
  const losses = trainToy(model, ddpm, { steps: 1200, batch: 512, lr: 5e-3, seed: 7 });
  assert.ok(losses.at(-1)! < 0.5 * losses[0], `loss did not fall: ${losses.join(", ")}`);

  const trained = [
    ["DDPM 1000 steps", stats(sampleToy(model, ddpm, { n: N, seed: 3 }))],
    ["DDIM 50 steps", stats(sampleToy(model, ddim, { n: N, seed: 3 }))],
  ] as const;
  for (const [name, r] of trained) {
    console.log(`trained, ${name}: ${r.summary}`);
    assert.ok(r.ok, `trained model, ${name}: ${r.summary}`);
  }

  model.flipSign = true;
  const untrained = new ToyMlp(2, 1000);
  const broken = [
    ["sign-flipped, DDPM 100 steps", stats(sampleToy(model, ddpm100, { n: N, seed: 3 }))],
    ["sign-flipped, DDIM 50 steps", stats(sampleToy(model, ddim, { n: N, seed: 3 }))],
    ["untrained, DDPM 100 steps", stats(sampleToy(untrained, ddpm100, { n: N, seed: 3 }))],
    ["untrained, DDIM 50 steps", stats(sampleToy(untrained, ddim, { n: N, seed: 3 }))],
  ] as const;
  for (const [name, r] of broken) {
    console.log(`${name}: ${r.summary}`);
    assert.ok(!r.ok, `${name} should fail: ${r.summary}`);
  }
  model.dispose();
  untrained.dispose();
  assert.equal(tf.memory().numTensors, before);
});
