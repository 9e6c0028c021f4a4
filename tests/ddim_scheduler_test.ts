// DDIMScheduler against host formulas of Song et al. (2021), and against DDPMScheduler at eta = 1
// (cpu backend).
import * as tf from "@tensorflow/tfjs";
import { DDIMScheduler, DDPMScheduler, setBackend } from "../mod.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose } from "./_assert.ts";

await setBackend("cpu");

const SHAPE: [number, number, number, number] = [2, 4, 4, 3];
const SIZE = SHAPE.reduce((a, b) => a * b);

function randn(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
}
const t4 = (v: Float32Array) => tf.tensor4d(v, SHAPE);

/** DDIM eq. 12 on the host for eps prediction, with x_0-hat clipped to [-1, 1] if asked. */
function hostDdim(
  s: DDIMScheduler,
  t: number,
  eps: Float32Array,
  x: Float32Array,
  eta: number,
  z: Float32Array,
  clip: boolean,
): Float64Array {
  const prevT = t - 1000 / s.numInferenceSteps;
  const a = s.alphasCumprod[t];
  const ap = prevT >= 0 ? s.alphasCumprod[prevT] : s.finalAlphaCumprod;
  const sigma = eta * Math.sqrt((1 - ap) / (1 - a) * (1 - a / ap));
  return Float64Array.from(x, (xi, i) => {
    let x0 = (xi - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a);
    if (clip) x0 = Math.min(Math.max(x0, -1), 1);
    return Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - sigma * sigma) * eps[i] + sigma * z[i];
  });
}

Deno.test("DDIMScheduler.step() with eta = 0 is eq. 12 and ignores the seed", async () => {
  const s = new DDIMScheduler();
  s.setTimesteps(50);
  const x = randn(SIZE, 1), eps = randn(SIZE, 2), zero = new Float32Array(SIZE);
  for (const t of [980, 500, 20, 0]) {
    const a = await s.step(t4(eps), t, t4(x), { seed: 1 }).prevSample.data();
    const b = await s.step(t4(eps), t, t4(x), { seed: 2 }).prevSample.data();
    assert.deepEqual(a, b, `t=${t}: deterministic`);
    assertClose(a, hostDdim(s, t, eps, x, 0, zero, true), { rtol: 1e-4, atol: 1e-5 });
  }
});

Deno.test("DDIMScheduler.step() with eta > 0 adds sigma_t(eta) z (eq. 16)", async () => {
  const s = new DDIMScheduler({ clipSample: false });
  s.setTimesteps(20);
  const x = randn(SIZE, 3), eps = randn(SIZE, 4), z = randn(SIZE, 5);
  for (const eta of [0.5, 1]) {
    const r = s.step(t4(eps), 500, t4(x), { eta, noise: t4(z) });
    assertClose(await r.prevSample.data(), hostDdim(s, 500, eps, x, eta, z, false), {
      rtol: 1e-4,
      atol: 1e-5,
    });
  }
  assert.throws(() => s.step(t4(eps), 500, t4(x), { eta: -1 }), RangeError);
});

Deno.test("DDIMScheduler.step() with eta = 1 equals the DDPM posterior step", async () => {
  const x = randn(SIZE, 6), eps = randn(SIZE, 7), z = t4(randn(SIZE, 8));
  for (const n of [1000, 50]) {
    const ddim = new DDIMScheduler({ clipSample: false });
    const ddpm = new DDPMScheduler({ clipSample: false });
    ddim.setTimesteps(n);
    ddpm.setTimesteps(n);
    for (const t of [ddim.timesteps[0], ddim.timesteps[n >> 1]]) {
      const a = ddim.step(t4(eps), t, t4(x), { eta: 1, noise: z }).prevSample;
      const b = ddpm.step(t4(eps), t, t4(x), { noise: z }).prevSample;
      assertClose(await a.data(), await b.data(), { rtol: 1e-4, atol: 1e-5, msg: `n=${n} t=${t}` });
    }
  }
});

Deno.test("DDIMScheduler predicts x_0 and eps for sample and v_prediction models", async () => {
  const x = randn(SIZE, 9), x0 = randn(SIZE, 10).map((v) => Math.tanh(v));
  const t = 600;
  for (const predictionType of ["sample", "v_prediction"] as const) {
    const s = new DDIMScheduler({ predictionType });
    s.setTimesteps(10);
    const a = s.alphasCumprod[t];
    // The eps and v that correspond to this x_0 and x_t.
    const eps = x.map((xi, i) => (xi - Math.sqrt(a) * x0[i]) / Math.sqrt(1 - a));
    const out = predictionType === "sample"
      ? x0
      : eps.map((e, i) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[i]);
    const r = s.step(t4(out), t, t4(x));
    assertClose(await r.predOriginalSample.data(), x0, { rtol: 1e-4, atol: 1e-5 });
    const expected = hostDdim(s, t, eps, x, 0, new Float32Array(SIZE), true);
    assertClose(await r.prevSample.data(), expected, {
      rtol: 1e-4,
      atol: 1e-4,
      msg: predictionType,
    });
  }
});

Deno.test("DDIMScheduler uses alpha-bar_0 on the last step when setAlphaToOne is false", async () => {
  const x = randn(SIZE, 11), eps = randn(SIZE, 12), zero = new Float32Array(SIZE);
  const s = DDIMScheduler.fromConfig({ set_alpha_to_one: false, clip_sample: false });
  s.setTimesteps(10);
  assert.equal(s.finalAlphaCumprod, s.alphasCumprod[0]);
  assert.equal(s.toConfig().set_alpha_to_one, false);
  assert.equal(s.toConfig().variance_type, undefined, "a DDIM config has no variance_type");
  const r = s.step(t4(eps), 0, t4(x));
  assertClose(await r.prevSample.data(), hostDdim(s, 0, eps, x, 0, zero, false), {
    rtol: 1e-4,
    atol: 1e-5,
  });
});

Deno.test("DDIMScheduler with eta = 0 inverts its own forward pass (DDIM inversion)", async () => {
  const s = new DDIMScheduler();
  s.setTimesteps(50);
  const x0Values = randn(SIZE, 13).map((v) => 0.9 * Math.tanh(v));
  const x0 = t4(x0Values);
  const eps0 = t4(randn(SIZE, 14));
  // The oracle model: the eps that takes x_0 to x at level alpha-bar_t.
  const oracle = (x: tf.Tensor4D, t: number) =>
    tf.tidy(() => {
      const a = s.alphasCumprod[t];
      return tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(a))), Math.sqrt(1 - a)) as tf.Tensor4D;
    });
  // Inversion runs eq. 12 upwards: x_next = sqrt(abar_next) x0-hat + sqrt(1 - abar_next) eps,
  // with eps evaluated at the current (lower) timestep.
  const ascending = [...s.timesteps].reverse();
  let x = s.addNoise(x0, eps0, tf.tensor1d([ascending[0]], "int32"));
  const forward: Float32Array[] = [await x.data() as Float32Array];
  for (let i = 0; i + 1 < ascending.length; i++) {
    const [t, next] = [ascending[i], ascending[i + 1]];
    const eps = oracle(x, t);
    const a = s.alphasCumprod[t], an = s.alphasCumprod[next];
    const up = tf.tidy(() => {
      const x0Hat = tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - a))), Math.sqrt(a));
      return tf.add(tf.mul(x0Hat, Math.sqrt(an)), tf.mul(eps, Math.sqrt(1 - an)));
    }) as tf.Tensor4D;
    tf.dispose([x, eps]);
    x = up;
    forward.push(await x.data() as Float32Array);
  }
  // The inverted x_T is eq. 4's x_T for the same x_0 and eps.
  const closed = s.addNoise(x0, eps0, tf.tensor1d([ascending.at(-1)!], "int32"));
  assertClose(forward.at(-1)!, await closed.data(), { atol: 1e-4 });
  // Sampling back retraces every state and lands on x_0.
  for (let i = 0; i < s.timesteps.length; i++) {
    const t = s.timesteps[i];
    assertClose(await x.data(), forward[forward.length - 1 - i], { atol: 2e-4, msg: `t=${t}` });
    const eps = oracle(x, t);
    const { prevSample, predOriginalSample } = s.step(eps, t, x, { seed: i });
    tf.dispose([x, eps, predOriginalSample]);
    x = prevSample;
  }
  assertClose(await x.data(), x0Values, { atol: 2e-4 });
});

Deno.test("DDIMScheduler.step() drops learned variance channels and keeps memory flat", async () => {
  const s = new DDIMScheduler({ varianceType: "learned_range", clipSample: false });
  s.setTimesteps(10);
  const x = randn(SIZE, 15), eps = randn(SIZE, 16);
  const doubled = tf.concat([t4(eps), tf.fill(SHAPE, 0.3)], 3) as tf.Tensor4D;
  const xt = t4(x);
  const before = tf.memory().numTensors;
  const r = s.step(doubled, 900, xt, { eta: 0.5, seed: 3 });
  const plain = s.step(t4(eps), 900, xt, { eta: 0.5, seed: 3 });
  assertClose(await r.prevSample.data(), await plain.prevSample.data(), { atol: 1e-6 });
  tf.dispose([r.prevSample, r.predOriginalSample, plain.prevSample, plain.predOriginalSample]);
  assert.equal(tf.memory().numTensors, before + 1, "only t4(eps) above is left");
  assert.throws(
    () => s.step(xt, 1000, xt),
    (e: unknown) => e instanceof RangeError && e.message.includes("Timestep 1000"),
  );
});
