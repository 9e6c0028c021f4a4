// DDPMScheduler against float64 host computations of the paper's equations (cpu backend).
import * as tf from "@tensorflow/tfjs";
import {
  DDPMScheduler,
  linearBetas,
  type PredictionType,
  type SchedulerConfig,
  setBackend,
  type VarianceType,
} from "../mod.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";

await setBackend("cpu");

const SHAPE: [number, number, number, number] = [2, 3, 3, 2];
const SIZE = SHAPE.reduce((a, b) => a * b);

/** Reproducible standard normal values from the host (Box-Muller), scaled. */
function randn(n: number, seed: number, scale = 1): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from(
    { length: n },
    () => scale * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
}

const t4 = (v: Float32Array, shape = SHAPE) => tf.tensor4d(v, shape);

/** x_0-hat on the host, per prediction type (Ho et al. eq. 15; v by its definition). */
function hostX0(type: PredictionType, out: number, x: number, abar: number): number {
  if (type === "epsilon") return (x - Math.sqrt(1 - abar) * out) / Math.sqrt(abar);
  if (type === "sample") return out;
  return Math.sqrt(abar) * x - Math.sqrt(1 - abar) * out;
}

/** The posterior mean mu-tilde(x_t, x_0-hat) of eq. 7 on the host, clipping x_0-hat first. */
function hostMean(
  s: DDPMScheduler,
  t: number,
  prevT: number,
  out: Float32Array,
  x: Float32Array,
  clip: number | null,
): Float64Array {
  const abar = s.alphasCumprod[t];
  const abarPrev = prevT >= 0 ? s.alphasCumprod[prevT] : 1;
  const beta = 1 - abar / abarPrev;
  return Float64Array.from(x, (xi, i) => {
    let x0 = hostX0(s.config.predictionType, out[i], xi, abar);
    if (clip !== null) x0 = Math.min(Math.max(x0, -clip), clip);
    return Math.sqrt(abarPrev) * beta / (1 - abar) * x0 +
      Math.sqrt(1 - beta) * (1 - abarPrev) / (1 - abar) * xi;
  });
}

Deno.test("DDPMScheduler.step() returns the posterior mean when noise is zero", async () => {
  const x = randn(SIZE, 1), out = randn(SIZE, 2);
  const zero = tf.zeros(SHAPE) as tf.Tensor4D;
  for (const predictionType of ["epsilon", "sample", "v_prediction"] as const) {
    for (const clipSample of [true, false]) {
      const s = new DDPMScheduler({ predictionType, clipSample });
      for (const t of [0, 1, 487, 999]) {
        const r = s.step(t4(out), t, t4(x), { noise: zero });
        const expected = hostMean(s, t, t - 1, out, x, clipSample ? 1 : null);
        const msg = `${predictionType} clip=${clipSample} t=${t}`;
        assertClose(await r.prevSample.data(), expected, { rtol: 1e-4, atol: 1e-5, msg });
        tf.dispose([r.prevSample, r.predOriginalSample]);
      }
    }
  }
  zero.dispose();
});

Deno.test("DDPMScheduler.step() spans the stride to the previous inference timestep", async () => {
  const s = new DDPMScheduler({ clipSample: false });
  s.setTimesteps(50);
  assert.equal(s.previousTimestep(980), 960);
  const x = randn(SIZE, 3), out = randn(SIZE, 4);
  const zero = tf.zeros(SHAPE) as tf.Tensor4D;
  const r = s.step(t4(out), 980, t4(x), { noise: zero });
  assertClose(await r.prevSample.data(), hostMean(s, 980, 960, out, x, null), {
    rtol: 1e-4,
    atol: 1e-5,
  });
  // Trailing spacing: diffusers-style lookup in the timesteps array, ending on x_0.
  const tr = new DDPMScheduler({ timestepSpacing: "trailing" });
  tr.setTimesteps(3);
  assert.deepEqual([...tr.timesteps], [999, 666, 332]);
  assert.deepEqual([tr.previousTimestep(999), tr.previousTimestep(666)], [666, 332]);
  assert.equal(tr.previousTimestep(332), -1);
  assert.equal(new DDPMScheduler().previousTimestep(10), 9);
  zero.dispose();
});

Deno.test("DDPMScheduler.step() adds sigma_t z for every variance type", async () => {
  const x = randn(SIZE, 5), eps = randn(SIZE, 6), z = randn(SIZE, 7);
  const t = 487;
  const types: VarianceType[] = [
    "fixed_small",
    "fixed_small_log",
    "fixed_large",
    "fixed_large_log",
    "learned",
    "learned_range",
  ];
  // Learned variance values: sigma^2 itself for "learned", v in [-1, 1] for "learned_range".
  const rand = mulberry32(8);
  const v = Float32Array.from({ length: SIZE }, () => 2 * rand() - 1);
  const v2 = v.map((a) => 0.005 + 0.004 * a);
  for (const varianceType of types) {
    const s = new DDPMScheduler({ varianceType, clipSample: false });
    const abar = s.alphasCumprod[t], abarPrev = s.alphasCumprod[t - 1];
    const beta = s.betas[t];
    const betaTilde = (1 - abarPrev) / (1 - abar) * beta;
    const learned = varianceType.startsWith("learned");
    const sigma = (i: number) => {
      if (varianceType.startsWith("fixed_small")) return Math.sqrt(betaTilde);
      if (varianceType.startsWith("fixed_large")) return Math.sqrt(beta);
      if (varianceType === "learned") return Math.sqrt(v2[i]);
      const frac = (v[i] + 1) / 2;
      return Math.exp(0.5 * (frac * Math.log(beta) + (1 - frac) * Math.log(betaTilde)));
    };
    let modelOutput = t4(eps);
    if (learned) {
      const extra = t4(varianceType === "learned" ? v2 : v);
      modelOutput = tf.concat([modelOutput, extra], 3);
    }
    const r = s.step(modelOutput, t, t4(x), { noise: t4(z) });
    const mean = hostMean(s, t, t - 1, eps, x, null);
    const expected = mean.map((m, i) => m + sigma(i) * z[i]);
    assertClose(await r.prevSample.data(), expected, { rtol: 1e-4, atol: 1e-6, msg: varianceType });
    // The prediction half alone drives x_0-hat.
    const x0 = x.map((xi, i) => hostX0("epsilon", eps[i], xi, abar));
    assertClose(await r.predOriginalSample.data(), x0, { rtol: 1e-4, atol: 1e-5 });
  }
});

Deno.test("DDPMScheduler.step() adds no noise on the step into x_0", async () => {
  const s = new DDPMScheduler({ varianceType: "fixed_large" });
  const x = randn(SIZE, 9), out = randn(SIZE, 10);
  const r = s.step(t4(out), 0, t4(x), { noise: tf.ones(SHAPE) as tf.Tensor4D });
  assertClose(await r.prevSample.data(), hostMean(s, 0, -1, out, x, 1), { atol: 1e-5 });
  // With t = 0, x_0-hat is the result: the posterior collapses onto it.
  assertClose(await r.prevSample.data(), await r.predOriginalSample.data(), { atol: 1e-6 });
});

Deno.test("DDPMScheduler.step() draws seeded standard normal noise", async () => {
  const s = new DDPMScheduler({ clipSample: false });
  const shape: [number, number, number, number] = [4, 16, 16, 3];
  const x = tf.zeros(shape) as tf.Tensor4D;
  const a = await s.step(x, 500, x, { seed: 11 }).prevSample.data();
  const b = await s.step(x, 500, x, { seed: 11 }).prevSample.data();
  const c = await s.step(x, 500, x, { seed: 12 }).prevSample.data();
  assert.deepEqual(a, b, "same seed, same noise");
  assert.notDeepEqual(a, c, "different seed, different noise");
  // mean is 0 here, so prevSample / sigma must look standard normal.
  const abar = s.alphasCumprod;
  const sigma = Math.sqrt((1 - abar[499]) / (1 - abar[500]) * s.betas[500]);
  const zs = Array.from(a, (v) => v / sigma);
  const mean = zs.reduce((p, q) => p + q) / zs.length;
  const varr = zs.reduce((p, q) => p + (q - mean) ** 2, 0) / zs.length;
  assertNear(mean, 0, 0.1);
  assertNear(varr, 1, 0.1);
});

Deno.test("DDPMScheduler dynamic thresholding clips x_0-hat at a per-sample quantile", async () => {
  const s = new DDPMScheduler({
    predictionType: "sample",
    thresholding: true,
    dynamicThresholdingRatio: 0.9,
    sampleMaxValue: 2.5,
  });
  const out = randn(SIZE, 13, 2);
  const r = s.step(t4(out), 10, t4(out), { noise: tf.zeros(SHAPE) as tf.Tensor4D });
  const per = SIZE / SHAPE[0];
  const expected = new Float64Array(SIZE);
  for (let b = 0; b < SHAPE[0]; b++) {
    const row = Array.from(out.subarray(b * per, (b + 1) * per));
    const sorted = row.map(Math.abs).sort((p, q) => p - q);
    const pos = 0.9 * (per - 1), lo = Math.floor(pos);
    const q = sorted[lo] + (sorted[Math.min(lo + 1, per - 1)] - sorted[lo]) * (pos - lo);
    const sMax = Math.min(Math.max(q, 1), 2.5);
    row.forEach((v, i) => expected[b * per + i] = Math.min(Math.max(v, -sMax), sMax) / sMax);
  }
  assertClose(await r.predOriginalSample.data(), expected, { rtol: 1e-5, atol: 1e-6 });
});

Deno.test("DDPMScheduler.addNoise() and getVelocity() gather one t per sample (eq. 4)", async () => {
  const s = new DDPMScheduler();
  const x0 = randn(SIZE, 14), eps = randn(SIZE, 15);
  const ts = [3, 999];
  const t = tf.tensor1d(ts, "int32");
  const xt = await s.addNoise(t4(x0), t4(eps), t).data();
  const v = await s.getVelocity(t4(x0), t4(eps), t).data();
  const per = SIZE / SHAPE[0];
  const abar = (i: number) => s.alphasCumprod[ts[Math.floor(i / per)]];
  assertClose(xt, x0.map((a, i) => Math.sqrt(abar(i)) * a + Math.sqrt(1 - abar(i)) * eps[i]), {
    rtol: 1e-5,
    atol: 1e-6,
  });
  assertClose(v, x0.map((a, i) => Math.sqrt(abar(i)) * eps[i] - Math.sqrt(1 - abar(i)) * a), {
    rtol: 1e-5,
    atol: 1e-6,
  });
  // One t broadcasts over the batch.
  const one = await s.addNoise(t4(x0), t4(eps), tf.tensor1d([3], "int32")).data();
  assertNear(
    one[per],
    Math.sqrt(s.alphasCumprod[3]) * x0[per] +
      Math.sqrt(1 - s.alphasCumprod[3]) * eps[per],
    1e-5,
  );
});

Deno.test("DDPMScheduler rejects bad timesteps and shapes with errors naming them", async () => {
  const s = new DDPMScheduler();
  const x = tf.zeros(SHAPE) as tf.Tensor4D;
  for (const t of [1000, -1, 1.5]) {
    assert.throws(
      () => s.step(x, t, x),
      (e: unknown) => e instanceof RangeError && e.message.includes(`Timestep ${t}`),
    );
  }
  // addNoise never reads t back: a timestep out of range makes its image NaN, on the device.
  const ones = tf.ones(SHAPE) as tf.Tensor4D;
  const bad = await s.addNoise(ones, ones, tf.tensor1d([0, 1000], "int32")).data();
  const per = bad.length / 2;
  assert.ok(bad.slice(0, per).every(Number.isFinite), "t = 0 is in range");
  assert.ok(bad.slice(per).every(Number.isNaN), "t = 1000 is out of range");
  const negative = await s.getVelocity(ones, ones, tf.tensor1d([-1], "int32")).data();
  assert.ok(negative.every(Number.isNaN), "t = -1 is out of range");
  assert.throws(() => s.addNoise(x, x, tf.tensor1d([0, 1], "float32")), TypeError);
  assert.throws(() => s.addNoise(x, x, tf.tensor1d([0, 1, 2], "int32")), TypeError);
  const other = tf.zeros([2, 3, 3, 1]) as tf.Tensor4D;
  assert.throws(() => s.addNoise(x, other, tf.tensor1d([0, 1], "int32")), TypeError);
  assert.throws(() => s.step(other, 5, x), TypeError);
  assert.throws(() => s.step(x, 5, x, { noise: other }), TypeError);
  assert.throws(
    () => new DDPMScheduler({ varianceType: "learned_range" }).step(x, 5, x),
    (e: unknown) => e instanceof TypeError && /learned_range/.test(e.message),
  );
  assert.throws(() => s.setTimesteps(1001), RangeError);
});

Deno.test("DDPMScheduler keeps tf.memory() flat", () => {
  const s = new DDPMScheduler({ varianceType: "learned_range", thresholding: true });
  const x = tf.zeros(SHAPE) as tf.Tensor4D;
  const out = tf.zeros([2, 3, 3, 4]) as tf.Tensor4D;
  const t = tf.tensor1d([1, 2], "int32");
  const before = tf.memory().numTensors;
  const r = s.step(out, 10, x, { seed: 1 });
  tf.dispose([r.prevSample, r.predOriginalSample, s.addNoise(x, x, t), s.getVelocity(x, x, t)]);
  assert.equal(tf.memory().numTensors, before);
  // predictionType "sample" without clipping: x_0-hat must still be a tensor of its own.
  const plain = new DDPMScheduler({ predictionType: "sample", clipSample: false });
  const p = plain.step(out.slice([0, 0, 0, 0], SHAPE), 0, x);
  tf.dispose([p.prevSample, p.predOriginalSample]);
  assert.equal(tf.memory().numTensors, before + 1, "the model output stays alive");
});

Deno.test("DDPMScheduler recovers x_0 in 1000 steps when the model returns the true noise", async () => {
  const s = new DDPMScheduler();
  const x0Values = Float32Array.from(randn(SIZE, 16), (v) => Math.tanh(v) * 0.9);
  const x0 = t4(x0Values);
  let x = tf.randomNormal(SHAPE, 0, 1, "float32", 17) as tf.Tensor4D;
  let worstX0 = 0;
  for (const t of s.timesteps) {
    const abar = s.alphasCumprod[t];
    // The oracle: the eps that makes x_t from x_0 (eq. 4 solved for eps).
    const eps = tf.tidy(() =>
      tf.div(tf.sub(x, tf.mul(x0, Math.sqrt(abar))), Math.sqrt(1 - abar))
    ) as tf.Tensor4D;
    const r = s.step(eps, t, x, { seed: t });
    if (t % 100 === 0) {
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(r.predOriginalSample, x0))).dataSync()[0]);
      worstX0 = Math.max(worstX0, err);
    }
    tf.dispose([x, eps, r.predOriginalSample]);
    x = r.prevSample;
  }
  assert.ok(worstX0 < 1e-3, `x_0-hat drifted by ${worstX0}`);
  assertClose(await x.data(), x0Values, { atol: 1e-4 });
  tf.dispose([x, x0]);
});

// google/ddpm-cifar10-32's scheduler_config.json, as published.
const CIFAR10_JSON = `{"_class_name":"DDPMScheduler","_diffusers_version":"0.1.1","beta_end":0.02,
"beta_schedule":"linear","beta_start":0.0001,"num_train_timesteps":1000,"trained_betas":null,
"variance_type":"fixed_small","clip_sample":true}`;

Deno.test("DDPMScheduler.fromConfig() loads a diffusers scheduler_config.json", () => {
  const s = DDPMScheduler.fromConfig(JSON.parse(CIFAR10_JSON));
  assert.equal(s.config.numTrainTimesteps, 1000);
  assert.equal(s.config.varianceType, "fixed_small");
  assert.equal(s.config.clipSample, true);
  assert.equal(s.config.timestepSpacing, "leading", "diffusers' default for missing keys");
  assertClose(s.betas, linearBetas(1e-4, 0.02, 1000), { rtol: 1e-15 });
  const json = s.toConfig();
  assert.equal(json._class_name, "DDPMScheduler");
  assert.equal(json.beta_schedule, "linear");
  assert.equal(json.set_alpha_to_one, undefined, "a DDPM config has no set_alpha_to_one");
  assert.deepEqual(DDPMScheduler.fromConfig(json).config, s.config);
  // camelCase keys and unknown keys are fine too.
  const camel = DDPMScheduler.fromConfig({ predictionType: "v_prediction", foo_bar: 1 });
  assert.equal(camel.config.predictionType, "v_prediction");
});

Deno.test("DDPMScheduler.fromConfig() rejects bad values, naming the key and the value", () => {
  const cases: [Record<string, unknown>, typeof TypeError, RegExp][] = [
    [{ beta_schedule: "cosine" }, RangeError, /beta_schedule.*"cosine"/],
    [{ num_train_timesteps: "1000" }, TypeError, /num_train_timesteps.*"1000"/],
    [{ num_train_timesteps: 0 }, RangeError, /num_train_timesteps.* 0/],
    [{ variance_type: 3 }, TypeError, /variance_type.* 3/],
    [{ prediction_type: "x0" }, RangeError, /prediction_type.*"x0"/],
    [{ clip_sample: "yes" }, TypeError, /clip_sample.*"yes"/],
    [{ beta_end: 2 }, RangeError, /beta_end.* 2/],
    [{ steps_offset: -1 }, RangeError, /steps_offset.* -1/],
    [{ timestep_spacing: null }, TypeError, /timestep_spacing.*null/],
    [{ trained_betas: [0.1, 0.2] }, RangeError, /trainedBetas has 2 values/],
    [{ trained_betas: "0.1" }, TypeError, /trained_betas/],
  ];
  for (const [json, Err, pattern] of cases) {
    assert.throws(
      () => DDPMScheduler.fromConfig(json),
      (e: unknown) => e instanceof Err && pattern.test((e as Error).message),
      JSON.stringify(json),
    );
  }
  assert.throws(
    () => DDPMScheduler.fromConfig(null as unknown as Record<string, unknown>),
    TypeError,
  );
  assert.throws(
    () => new DDPMScheduler({ betaSchedule: "cosine" as SchedulerConfig["betaSchedule"] }),
    (e: unknown) => e instanceof RangeError && /"cosine"/.test((e as Error).message),
  );
});
