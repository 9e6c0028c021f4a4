import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../src/backends/set_backend.ts";
import { DDPMScheduler } from "../src/diffusion/ddpm_scheduler.ts";
import { evaluateNll, type NllModel } from "../src/diffusion/nll.ts";
import {
  approxStandardNormalCdf,
  discretizedGaussianLogLikelihood,
  natsToBitsPerDim,
  normalKl,
} from "../src/diffusion/nll_math.ts";
import { createUNetFromConfig } from "../src/nn/create_unet_from_config.ts";
import { presets } from "../src/presets/presets.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

/** Composite Simpson's rule of f over [a, b] with n (even) intervals. */
function simpson(f: (x: number) => number, a: number, b: number, n = 20000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

function gaussianPdf(x: number, mean: number, std: number): number {
  const z = (x - mean) / std;
  return Math.exp(-0.5 * z * z) / (std * Math.sqrt(2 * Math.PI));
}

/**
 * `n` images of pixel values v / 127.5 - 1 that include both edge levels; image k is image 0
 * shifted by k - 1 levels, so that one prediction can sit near all of them.
 */
function gridImages(n: number, res: number, seed: number): tf.Tensor4D {
  let s = seed;
  const size = res * res * 3;
  const base = Array.from({ length: size }, (_, i) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return i % 7 === 0 ? 0 : i % 11 === 0 ? 255 : s % 256;
  });
  const v = Float32Array.from({ length: n * size }, (_, j) => {
    const level = Math.min(255, Math.max(0, base[j % size] + Math.floor(j / size) - 1));
    return level / 127.5 - 1;
  });
  return tf.tensor4d(v, [n, res, res, 3]);
}

Deno.test("normalKl() matches numeric integration of p log(p / q)", () => {
  const cases = [[0, 0, 0, 0], [0.3, -1, -0.2, 0.5], [-1, 1.2, 0.4, -0.7], [2, -3, 1.5, -2]];
  for (const [m1, lv1, m2, lv2] of cases) {
    const s1 = Math.exp(lv1 / 2), s2 = Math.exp(lv2 / 2);
    const integrand = (x: number) => {
      const p = gaussianPdf(x, m1, s1);
      return p > 0 ? p * Math.log(p / gaussianPdf(x, m2, s2)) : 0;
    };
    const numeric = simpson(integrand, m1 - 14 * s1, m1 + 14 * s1);
    assertNear(normalKl(m1, lv1, m2, lv2), numeric, 1e-9, `KL at ${[m1, lv1, m2, lv2]}`);
  }
});

Deno.test("approxStandardNormalCdf() is within 2e-4 of the integrated normal density", () => {
  let worst = 0;
  for (let x = -6; x <= 6; x += 0.25) {
    const exact = 0.5 + Math.sign(x) * simpson((u) => gaussianPdf(u, 0, 1), 0, Math.abs(x), 2000);
    worst = Math.max(worst, Math.abs(approxStandardNormalCdf(x) - exact));
  }
  assert.ok(worst < 2e-4, `worst error ${worst}`);
  assert.ok(worst > 1e-6, "the approximation should differ from the exact CDF");
});

Deno.test("discretizedGaussianLogLikelihood() matches the Gaussian mass of each bin", () => {
  // The decoder uses the tanh CDF approximation, so compare probabilities with its tolerance
  // and, where the bin holds real mass, log-probabilities relatively.
  for (const [mean, std] of [[0.1, 0.02], [-0.97, 0.01], [0.99, 0.05], [0, 0.004]]) {
    for (const v of [0, 1, 2, 100, 127, 128, 140, 253, 254, 255]) {
      const x = v / 127.5 - 1;
      const lo = v === 0 ? mean - 12 * std : x - 1 / 255;
      const hi = v === 255 ? mean + 12 * std : x + 1 / 255;
      const exact = Math.max(0, Math.min(hi, mean + 12 * std) - Math.max(lo, mean - 12 * std)) > 0
        ? simpson(
          (u) => gaussianPdf(u, mean, std),
          Math.max(lo, mean - 12 * std),
          Math.min(hi, mean + 12 * std),
          4000,
        )
        : 0;
      const got = Math.exp(discretizedGaussianLogLikelihood(x, mean, Math.log(std)));
      assertNear(got, exact, 4e-4, `bin ${v}, mean ${mean}, std ${std}`);
      if (exact > 0.05) assertNear(Math.log(got) / Math.log(exact), 1, 0.01, `log of bin ${v}`);
    }
  }
});

Deno.test("discretizedGaussianLogLikelihood() sums to probability 1 over the 256 levels", () => {
  for (const [mean, logScale] of [[0, 0], [0.5, -4], [-1, -6], [1.3, -2], [0.002, -9]]) {
    let total = 0;
    for (let v = 0; v < 256; v++) {
      total += Math.exp(discretizedGaussianLogLikelihood(v / 127.5 - 1, mean, logScale));
    }
    assertNear(total, 1, 1e-9, `mean ${mean}, logScale ${logScale}`);
  }
});

Deno.test("natsToBitsPerDim() divides by ln 2 and the number of dimensions", () => {
  assertNear(natsToBitsPerDim(1), 1 / Math.LN2, 1e-15);
  assertNear(natsToBitsPerDim(3072 * 2 * Math.LN2, 3072), 2, 1e-12);
  assert.throws(() => natsToBitsPerDim(1, 0), RangeError);
});

/** A model predicting a fixed x_0, which makes every term deterministic. */
function constantX0Model(c: tf.Tensor4D): NllModel {
  return {
    predict: (x) => tf.tidy(() => tf.broadcastTo(c, x.shape) as tf.Tensor4D),
  };
}

/** The bound of {@linkcode constantX0Model} computed independently in float64. */
function hostBound(
  x0: Float32Array,
  c: Float32Array,
  n: number,
  betas: Float64Array,
  large: boolean,
): { total: number; prior: number; terms: Float64Array } {
  const T = betas.length;
  const ab = new Float64Array(T);
  for (let t = 0, p = 1; t < T; t++) ab[t] = p *= 1 - betas[t];
  const betaTilde = (t: number) => betas[t] * (1 - (t ? ab[t - 1] : 1)) / (1 - ab[t]);
  const dims = c.length;
  const terms = new Float64Array(T);
  let prior = 0;
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dims; d++) {
      const x = x0[i * dims + d];
      prior += normalKl(Math.sqrt(ab[T - 1]) * x, Math.log(1 - ab[T - 1]), 0, 0);
      // At t = 0 the posterior mean is x_0-hat itself (its x_t coefficient is 0).
      terms[0] -= discretizedGaussianLogLikelihood(x, c[d], 0.5 * Math.log(betaTilde(1)));
      for (let t = 1; t < T; t++) {
        const coef = betas[t] * Math.sqrt(ab[t - 1]) / (1 - ab[t]);
        const modelVar = large ? betas[t] : betaTilde(t);
        terms[t] += normalKl(coef * x, Math.log(betaTilde(t)), coef * c[d], Math.log(modelVar));
      }
    }
  }
  for (let t = 0; t < T; t++) terms[t] /= n * dims * Math.LN2;
  prior /= n * dims * Math.LN2;
  return { total: prior + terms.reduce((a, b) => a + b, 0), prior, terms };
}

for (const varianceType of ["fixed_small", "fixed_large"] as const) {
  Deno.test(`evaluateNll() matches a float64 host computation (${varianceType})`, async () => {
    await setBackend("cpu");
    const before = tf.memory().numTensors;
    const images = gridImages(3, 4, 7);
    // A prediction within a few bins of every image, so that no decoder bin is floored.
    const c = tf.tidy(() =>
      gridImages(2, 4, 7).slice([1, 0, 0, 0], [1, -1, -1, -1])
        .add(tf.sin(tf.range(0, 48).reshape([1, 4, 4, 3])).mul(0.006)) as tf.Tensor4D
    );
    const scheduler = new DDPMScheduler({
      numTrainTimesteps: 20,
      varianceType,
      predictionType: "sample",
      clipSample: false,
    });
    const got = await evaluateNll({
      unet: constantX0Model(c),
      scheduler,
      images,
      batchSize: 7,
    });
    const want = hostBound(
      images.dataSync() as Float32Array,
      c.dataSync() as Float32Array,
      3,
      scheduler.betas,
      varianceType === "fixed_large",
    );
    assertClose(got.termsBitsPerDim, want.terms, { rtol: 1e-4, atol: 1e-6 });
    assertNear(got.priorBitsPerDim, want.prior, 1e-9);
    assertNear(got.decoderBitsPerDim, want.terms[0], 1e-4 * want.terms[0]);
    assertNear(got.bitsPerDim, want.total, 1e-4 * want.total);
    assert.equal(got.perImageBitsPerDim.length, 3);
    assert.deepEqual(Array.from(got.timesteps), Array.from({ length: 20 }, (_, t) => t));
    tf.dispose([images, c]);
    assert.equal(tf.memory().numTensors, before);
  });
}

Deno.test("evaluateNll() with numTimesteps scales the sampled KL terms by (T - 1) / (k - 1)", async () => {
  await setBackend("cpu");
  const images = gridImages(2, 4, 3);
  const c = tf.zerosLike(images).slice([0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 30, predictionType: "sample" });
  const opts = { unet: constantX0Model(c), scheduler, images };
  const full = await evaluateNll(opts);
  const part = await evaluateNll({ ...opts, numTimesteps: 6, seed: 5 });
  assert.equal(part.timesteps.length, 6);
  assert.equal(part.timesteps[0], 0);
  let kl = 0;
  for (let t = 0; t < 30; t++) {
    if (part.timesteps.includes(t)) {
      assertNear(part.termsBitsPerDim[t], full.termsBitsPerDim[t], 1e-6 * full.termsBitsPerDim[t]);
      if (t > 0) kl += full.termsBitsPerDim[t];
    } else {
      assert.ok(Number.isNaN(part.termsBitsPerDim[t]), `term ${t} should be NaN`);
    }
  }
  const expected = full.priorBitsPerDim + full.decoderBitsPerDim + (29 / 5) * kl;
  assertNear(part.bitsPerDim, expected, 1e-6 * expected);
  tf.dispose([images, c]);
});

Deno.test("evaluateNll() of the true-noise oracle is below that of an untrained UNet", async () => {
  await setBackend(FAST_BACKEND);
  const before = tf.memory().numTensors;
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 100, varianceType: "fixed_large" });
  const images = gridImages(1, 8, 11);
  const ab = scheduler.alphasCumprod;
  // For a single known image, the noise is recoverable exactly from x_t.
  const oracle: NllModel = {
    predict: (x, t) =>
      tf.tidy(() => {
        const ts = Array.from(t.dataSync());
        const a = tf.tensor4d(ts.map((s) => Math.sqrt(ab[s])), [ts.length, 1, 1, 1]);
        const b = tf.tensor4d(ts.map((s) => Math.sqrt(1 - ab[s])), [ts.length, 1, 1, 1]);
        return x.sub(images.mul(a)).div(b) as tf.Tensor4D;
      }),
  };
  const unet = createUNetFromConfig({ ...presets.tiny.unet, resolution: 8 }, { seed: 3 });
  const good = await evaluateNll({ unet: oracle, scheduler, images, batchSize: 50 });
  const bad = await evaluateNll({ unet, scheduler, images, batchSize: 50 });
  unet.dispose();
  images.dispose();
  // With x_0 known exactly, every KL term is the variance mismatch alone.
  assert.ok(good.bitsPerDim < bad.bitsPerDim - 0.5, `${good.bitsPerDim} vs ${bad.bitsPerDim}`);
  assert.ok(good.decoderBitsPerDim < bad.decoderBitsPerDim);
  assertNear(good.priorBitsPerDim, bad.priorBitsPerDim, 1e-12);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("evaluateNll() rejects learned variances and images outside [-1, 1]", async () => {
  await setBackend("cpu");
  const images = tf.fill([1, 2, 2, 3], 2) as tf.Tensor4D;
  const zero = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
  const unet = constantX0Model(zero);
  await assert.rejects(
    evaluateNll({ unet, scheduler: new DDPMScheduler({ numTrainTimesteps: 5 }), images }),
    RangeError,
  );
  const ok = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
  await assert.rejects(
    evaluateNll({
      unet,
      scheduler: new DDPMScheduler({ numTrainTimesteps: 5, varianceType: "learned_range" }),
      images: ok,
    }),
    RangeError,
  );
  await assert.rejects(
    evaluateNll({
      unet,
      scheduler: new DDPMScheduler({ numTrainTimesteps: 5 }),
      images: ok,
      numTimesteps: 1,
    }),
    RangeError,
  );
  tf.dispose([images, ok, zero]);
});

Deno.test("evaluateNll() gives the same bound whatever the batch size: noise is drawn per pair", async () => {
  await setBackend("cpu");
  const unet = createUNetFromConfig({
    ...presets.tiny.unet,
    resolution: 4,
    ch: 8,
    chMult: [1],
    numGroups: 4,
    attnResolutions: [],
  }, { seed: 2 });
  const images = tf.tidy(() =>
    tf.randomUniform([3, 4, 4, 3], 0, 256, "int32", 5).toFloat().div(127.5).sub(1)
  ) as tf.Tensor4D;
  const scheduler = new DDPMScheduler({ numTrainTimesteps: 12 });
  const run = (batchSize?: number) =>
    evaluateNll({ unet, scheduler, images, batchSize, numTimesteps: 6, seed: 4 });
  const whole = await run(); // cpu: the default, 16 pairs per pass
  const before = tf.memory().numTensors;
  const small = await run(5);
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  assertClose(small.perImageBitsPerDim, whole.perImageBitsPerDim, { rtol: 1e-6, atol: 1e-6 });
  assert.ok(Number.isFinite(whole.bitsPerDim) && whole.bitsPerDim > 0);
  images.dispose();
  unet.dispose();
});
