import * as tf from "@tensorflow/tfjs";
import { createAdamState, setBackend } from "../mod.ts";
import {
  adamUpdate,
  clipFactor,
  emaDecayAt,
  emaUpdate,
  globalNorm,
  learningRateAt,
} from "../src/train/mod.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { hostAdam } from "./_host_adam.ts";

await setBackend("cpu");

Deno.test("learningRateAt() warms up linearly to the peak, then stays there", () => {
  const cfg = { learningRate: 2e-4, warmupSteps: 5000 };
  assertNear(learningRateAt(0, cfg), 2e-4 / 5000, 1e-15);
  assertNear(learningRateAt(2499, cfg), 1e-4, 1e-15);
  assertNear(learningRateAt(4999, cfg), 2e-4, 1e-15);
  assertNear(learningRateAt(100_000, cfg), 2e-4, 1e-15);
  assertNear(learningRateAt(0, { learningRate: 0.1, warmupSteps: 0 }), 0.1, 0);
});

Deno.test("learningRateAt() with cosine decay follows half a cosine from the peak to 0", () => {
  const cfg = { learningRate: 1e-3, warmupSteps: 100, lrDecay: "cosine", steps: 2100 } as const;
  // Warmup is unchanged by the decay.
  assertNear(learningRateAt(49, cfg), 1e-3 * 50 / 100, 1e-15);
  for (const step of [99, 100, 350, 1100, 1600, 2099, 2100, 5000]) {
    // The closed form, in float64: lr/2 * (1 + cos(pi * min(1, (step - warmup) / 2000))).
    const progress = Math.min(1, Math.max(0, (step - 100) / 2000));
    const want = 0.5e-3 * (1 + Math.cos(Math.PI * progress));
    assertNear(learningRateAt(step, cfg), want, 1e-15);
  }
  assertNear(learningRateAt(1100, cfg), 0.5e-3, 1e-15);
  assertNear(learningRateAt(2100, cfg), 0, 1e-18);
  let last = Infinity;
  for (let step = 100; step < 2100; step += 7) {
    const lr = learningRateAt(step, cfg);
    assert(lr <= last && lr > 0, `not decreasing at step ${step}`);
    last = lr;
  }
  // "constant" and a missing decay are the paper's schedule.
  assertNear(learningRateAt(2000, { ...cfg, lrDecay: "constant" }), 1e-3, 0);
});

Deno.test("emaDecayAt() warms up as (1 + step) / (10 + step), capped at the decay", () => {
  const cfg = { emaDecay: 0.999, emaWarmup: true };
  assertNear(emaDecayAt(1, cfg), 2 / 11, 1e-15);
  assertNear(emaDecayAt(90, cfg), 91 / 100, 1e-15);
  assertNear(emaDecayAt(100_000, cfg), 0.999, 1e-15);
  assertNear(emaDecayAt(1, { ...cfg, emaWarmup: false }), 0.999, 0);
});

Deno.test("globalNorm() is the L2 norm over all gradients together", () => {
  const a = [1.5, -2, 0.25], b = [3, 4, -1, 0.5];
  const expected = Math.sqrt([...a, ...b].reduce((s, x) => s + x * x, 0));
  const n = globalNorm({ a: tf.tensor(a), b: tf.tensor2d(b, [2, 2]) });
  assertNear(n.dataSync()[0], expected, 1e-6);
  n.dispose();
});

Deno.test("clipFactor() is min(1, max / norm), 1 without clipping, 0 for a non-finite loss or norm", async () => {
  const f = async (norm: number, loss: number | undefined, max: number) => {
    const [n, l] = [tf.scalar(norm), loss === undefined ? undefined : tf.scalar(loss)];
    const out = clipFactor(n, l, max);
    const [v] = await out.data();
    tf.dispose([n, out, ...(l ? [l] : [])]);
    return v;
  };
  assertNear(await f(4, 0.5, 1), 0.25, 0);
  assertNear(await f(3, 0.5, 1), Math.fround(1 / 3), 0);
  assert.equal(await f(0.5, 0.5, 1), 1);
  assert.equal(await f(0, 0.5, 1), 1, "a zero norm is not clipped");
  assert.equal(await f(40, 0.5, 0), 1, "maxNorm 0: no clipping");
  assert.equal(await f(4, undefined, 1), 0.25);
  for (const [norm, loss] of [[NaN, 1], [Infinity, 1], [1, NaN], [1, -Infinity]]) {
    assert.equal(await f(norm, loss, 1), 0, `norm ${norm}, loss ${loss}`);
  }
});

Deno.test("adamUpdate() with clipping matches a float64 host Adam over 5 steps", () => {
  const w0 = [0.5, -1, 2, 0.1];
  const grads = [[3, 4, 0, 0], [0.1, -0.2, 0.3, 0.05], [-2, 1, 1, -1], [0.01, 0, 0, 0.02], [
    5,
    -5,
    5,
    -5,
  ]];
  const lr = [1e-3, 2e-3, 3e-3, 4e-3, 4e-3];
  const clip = 1.0;
  const weights = new Map([["w", tf.variable(tf.tensor(w0))]]);
  const state = createAdamState(weights);
  grads.forEach((g, k) => {
    const gt = tf.tensor(g);
    const norm = globalNorm({ w: gt });
    const n = norm.dataSync()[0];
    adamUpdate(weights, { w: gt }, state, {
      learningRate: lr[k],
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      step: k + 1,
      gradScale: n > clip ? clip / n : 1,
    });
    tf.dispose([gt, norm]);
  });
  const expected = hostAdam(w0, grads, { lr, b1: 0.9, b2: 0.999, eps: 1e-8, clip });
  assertClose(weights.get("w")!.dataSync(), expected, { rtol: 1e-5, atol: 1e-7 });
  tf.dispose([...weights.values(), ...state.m.values(), ...state.v.values()]);
});

Deno.test("emaUpdate() follows ema = d * ema + (1 - d) * w over several steps", () => {
  const ema = new Map([["w", tf.variable(tf.tensor([1, -1]))]]);
  const live = new Map([["w", tf.variable(tf.tensor([0, 0]))]]);
  let host = [1, -1];
  const targets = [[2, 3], [-1, 0.5], [4, 4]];
  for (const t of targets) {
    live.get("w")!.assign(tf.tensor(t));
    emaUpdate(ema, live, 0.9);
    host = host.map((e, i) => 0.9 * e + 0.1 * t[i]);
  }
  assertClose(ema.get("w")!.dataSync(), host, { rtol: 1e-6, atol: 1e-6 }); // float32 state
  tf.dispose([...ema.values(), ...live.values()]);
});

Deno.test("adamUpdate() and emaUpdate() leave no tensors behind", () => {
  const weights = new Map([["w", tf.variable(tf.ones([3]))]]);
  const ema = new Map([["w", tf.variable(tf.ones([3]))]]);
  const state = createAdamState(weights);
  const g = tf.ones([3]);
  const before = tf.memory().numTensors;
  for (let k = 1; k <= 5; k++) {
    adamUpdate(weights, { w: g }, state, {
      learningRate: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      step: k,
      gradScale: 0.5,
    });
    emaUpdate(ema, weights, 0.99);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([g, ...weights.values(), ...ema.values(), ...state.m.values(), ...state.v.values()]);
});
