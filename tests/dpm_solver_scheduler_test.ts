// DPMSolverMultistepScheduler against an independent float64 host implementation of DPM-Solver
// (Lu et al. 2022a) and DPM-Solver++ (Lu et al. 2022b) as diffusers schedules and orders them,
// against timesteps and noise levels worked out by hand, and against the exact solution of the
// diffusion ODE for Gaussian data (cpu backend: float32 tensors).
import * as tf from "@tensorflow/tfjs";
import { type DPMSolverConfig, DPMSolverMultistepScheduler, sample, setBackend } from "../mod.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";

await setBackend("cpu");

const SHAPE: [number, number, number, number] = [2, 4, 4, 3];
const SIZE = SHAPE.reduce((a, b) => a * b);

function randn(n: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  return Float64Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()),
  );
}

// ---------------------------------------------------------------------------------------------
// The host reference, written from the papers and diffusers' documented schedule, in float64.
// ---------------------------------------------------------------------------------------------

type Cfg = DPMSolverConfig;
const DEFAULTS: Cfg = {
  numTrainTimesteps: 1000,
  betaStart: 1e-4,
  betaEnd: 0.02,
  betaSchedule: "linear",
  trainedBetas: null,
  solverOrder: 2,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1,
  algorithmType: "dpmsolver++",
  solverType: "midpoint",
  lowerOrderFinal: true,
  eulerAtFinal: false,
  useKarrasSigmas: false,
  finalSigmasType: "zero",
  lambdaMinClipped: -Infinity,
  varianceType: null,
  timestepSpacing: "linspace",
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
};

/** alpha-bar_t: linear or cosine betas, optionally rescaled to zero terminal SNR (Lin et al.). */
function hostAlphaBar(c: Cfg): number[] {
  const T = c.numTrainTimesteps;
  let betas: number[];
  if (c.betaSchedule === "squaredcos_cap_v2") {
    const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * Math.PI / 2) ** 2;
    betas = Array.from({ length: T }, (_, i) => Math.min(1 - f((i + 1) / T) / f(i / T), 0.999));
  } else {
    betas = Array.from(
      { length: T },
      (_, i) => c.betaStart + (c.betaEnd - c.betaStart) * i / (T - 1),
    );
  }
  let prod = 1;
  let ab = betas.map((b) => (prod *= 1 - b));
  if (c.rescaleBetasZeroSnr) {
    const r = ab.map(Math.sqrt);
    const [first, last] = [r[0], r[T - 1]];
    ab = r.map((v) => ((v - last) * first / (first - last)) ** 2);
    ab[T - 1] = 2 ** -24; // diffusers keeps the first sigma finite
  }
  return ab;
}

const halfEven = (x: number) => {
  const f = Math.floor(x);
  const d = x - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

/** Timesteps and sigmas of diffusers' DPMSolverMultistepScheduler.set_timesteps. */
function hostSchedule(c: Cfg, n: number): { ts: number[]; sigmas: number[] } {
  const T = c.numTrainTimesteps;
  const ab = hostAlphaBar(c);
  const sig = ab.map((a) => Math.sqrt((1 - a) / a));
  // lambda_t = log(alpha_t / sigma_t) decreases with t: drop the t whose lambda is too small.
  const L = T - ab.filter((a) => 0.5 * Math.log(a / (1 - a)) < c.lambdaMinClipped).length;
  let ts: number[] = [];
  if (c.timestepSpacing === "linspace") {
    for (let k = n; k >= 1; k--) ts.push(halfEven(k === n ? L - 1 : k * ((L - 1) / n)));
  } else if (c.timestepSpacing === "leading") {
    const r = Math.floor(L / (n + 1));
    for (let k = n; k >= 1; k--) ts.push(k * r + c.stepsOffset);
  } else {
    // Where float steps of T / n leave a sliver above 0, it would round to timestep -1: not a step.
    for (let v = L; v > 0; v -= T / n) if (halfEven(v) >= 1) ts.push(halfEven(v) - 1);
  }
  let sigmas = ts.map((t) => sig[t]);
  if (c.useKarrasSigmas) {
    const [lo, hi] = [sig[0] ** (1 / 7), sig[T - 1] ** (1 / 7)];
    sigmas = Array.from({ length: n }, (_, i) => (hi + (i / (n - 1)) * (lo - hi)) ** 7);
    ts = sigmas.map((s) => {
      // The fractional timestep where log sigma crosses s, by linear interpolation.
      let k = 0;
      while (k < T - 2 && Math.log(sig[k + 1]) <= Math.log(s)) k++;
      const w = Math.min(
        Math.max(
          (Math.log(sig[k]) - Math.log(s)) /
            (Math.log(sig[k]) - Math.log(sig[k + 1])),
          0,
        ),
        1,
      );
      const t = k + w;
      return c.betaSchedule === "squaredcos_cap_v2" ? Math.trunc(t) : halfEven(t);
    });
  }
  sigmas.push(c.finalSigmasType === "zero" ? 0 : sig[0]);
  return { ts, sigmas };
}

/** The model of these tests: out = a(t) x + b(t) tanh(x) + c(t), smooth in t, nonlinear in x. */
const coef = (t: number) => [0.3 + 0.2 * t / 1000, 0.5 * Math.cos(t / 300), 0.1 - t / 20000];
function hostModel(x: Float64Array, t: number): Float64Array {
  const [a, b, c] = coef(t);
  return x.map((v) => a * v + b * Math.tanh(v) + c);
}
function tensorModel(x: tf.Tensor4D, t: number): tf.Tensor4D {
  const [a, b, c] = coef(t);
  return tf.tidy(() => tf.addN([tf.mul(x, a), tf.mul(tf.tanh(x), b), tf.fill(x.shape, c)]));
}

/** Imagen's dynamic thresholding, per image: s = quantile of |x|, clamped to [1, max]. */
function hostThreshold(x: Float64Array, ratio: number, max: number): Float64Array {
  const per = x.length / SHAPE[0];
  const out = new Float64Array(x.length);
  for (let b = 0; b < SHAPE[0]; b++) {
    const row = x.subarray(b * per, (b + 1) * per);
    const sorted = Array.from(row, Math.abs).sort((p, q) => p - q);
    const pos = ratio * (per - 1);
    const lo = Math.floor(pos);
    const q = sorted[lo] + (sorted[Math.min(lo + 1, per - 1)] - sorted[lo]) * (pos - lo);
    const s = Math.min(Math.max(q, 1), max);
    for (let i = 0; i < per; i++) out[b * per + i] = Math.min(Math.max(row[i], -s), s) / s;
  }
  return out;
}

/**
 * A whole sampling run on the host. x_t = alpha_t x_0 + sigma_t eps with the VE level
 * s = sigma_t / alpha_t, so alpha_t = 1 / sqrt(1 + s^2), and lambda = log(alpha_t / sigma_t).
 * DPM-Solver++ integrates the data prediction x_0 (Lu et al. 2022b, eq. 9):
 *   x_t = (sigma_t / sigma_s) x_s + sigma_t int_{lambda_s}^{lambda_t} e^lambda x_0(lambda) d lambda,
 * DPM-Solver the noise prediction (Lu et al. 2022a, eq. 3.4):
 *   x_t = (alpha_t / alpha_s) x_s - alpha_t int e^-lambda eps(lambda) d lambda,
 * each expanded in lambda with backward differences of the stored outputs; the SDE forms
 * (Lu et al. 2022b, Appendix) shrink x_s by e^-h, double the integrand's weight, and add
 * sigma_t sqrt(1 - e^-2h) z (resp. sigma_t sqrt(e^2h - 1) z).
 */
function hostRun(
  c: Cfg,
  n: number,
  xT: Float64Array,
  noises: Float64Array[] = [],
): Float64Array[] {
  const { ts, sigmas } = hostSchedule(c, n);
  const steps = ts.length;
  const vp = (s: number) => {
    const alpha = 1 / Math.sqrt(1 + s * s);
    return { alpha, sigma: s * alpha, lambda: Math.log(alpha) - Math.log(s * alpha) };
  };
  const data = c.algorithmType.endsWith("++");
  const sde = c.algorithmType.startsWith("sde");
  const hist: Float64Array[] = [];
  const out: Float64Array[] = [];
  let x = xT;
  for (let i = 0; i < steps; i++) {
    const raw = hostModel(x, ts[i]);
    const s0 = vp(sigmas[i]);
    let x0 = c.predictionType === "epsilon"
      ? x.map((v, k) => (v - s0.sigma * raw[k]) / s0.alpha)
      : c.predictionType === "sample"
      ? raw
      : x.map((v, k) => s0.alpha * v - s0.sigma * raw[k]);
    if (c.thresholding) x0 = hostThreshold(x0, c.dynamicThresholdingRatio, c.sampleMaxValue);
    const m = data ? x0 : x.map((v, k) => (v - s0.alpha * x0[k]) / s0.sigma);
    hist.unshift(m);
    // The order: one more each step up to solverOrder, first order for the final step to
    // sigma 0 (or always with eulerAtFinal), and lowered at the end of runs under 15 steps.
    const short = c.lowerOrderFinal && steps < 15;
    let order = Math.min(c.solverOrder, i + 1);
    if (i === steps - 2 && short) order = Math.min(order, 2);
    if (i === steps - 1 && (short || c.eulerAtFinal || c.finalSigmasType === "zero")) order = 1;
    const t = vp(sigmas[i + 1]);
    const h = t.lambda - s0.lambda;
    // Backward differences in lambda: D1 ~ h x', D2 ~ h^2 x'' / 2 (Lu et al. 2022a, Algorithm 3).
    const D0 = hist[0];
    let D1 = new Float64Array(SIZE), D2 = new Float64Array(SIZE);
    if (order >= 2) {
      const r0 = (s0.lambda - vp(sigmas[i - 1]).lambda) / h;
      const d10 = D0.map((v, k) => (v - hist[1][k]) / r0);
      if (order === 2) D1 = d10;
      else {
        const r1 = (vp(sigmas[i - 1]).lambda - vp(sigmas[i - 2]).lambda) / h;
        const d11 = hist[1].map((v, k) => (v - hist[2][k]) / r1);
        D1 = d10.map((v, k) => v + (r0 / (r0 + r1)) * (v - d11[k]));
        D2 = d10.map((v, k) => (v - d11[k]) / (r0 + r1));
      }
    }
    const z = noises[i] ?? new Float64Array(SIZE);
    let next: Float64Array;
    if (data) {
      // phi_1 = e^-h - 1, phi_2 = phi_1 / h + 1, phi_3 = phi_2 / h - 1/2 (in -2h for the SDE).
      const g = sde ? 2 * h : h;
      const phi1 = Math.exp(-g) - 1, phi2 = phi1 / g + 1, phi3 = phi2 / g - 0.5;
      const decay = sde ? Math.exp(-h) : 1;
      const w1 = order === 2 && c.solverType === "midpoint" ? -0.5 * phi1 : phi2;
      const noise = sde ? t.sigma * Math.sqrt(-phi1) : 0;
      // The SDE's D2 weight as diffusers has it: (1 - e^-2h - 2h) / (2h)^2 - 1/2, which is the
      // ODE form's -phi_3 with the sign of its 1/2 flipped (so -phi_3 - 1 here).
      const w2 = sde ? -phi3 - 1 : -phi3;
      next = x.map((v, k) =>
        (h === Infinity ? 0 : (t.sigma / s0.sigma) * decay * v) +
        t.alpha * (-phi1 * D0[k] + w1 * D1[k] + w2 * D2[k] * (order === 3 ? 1 : 0)) +
        noise * z[k]
      );
    } else {
      const phi1 = Math.exp(h) - 1, phi2 = phi1 / h - 1, phi3 = phi2 / h - 0.5;
      const k2 = sde ? 2 : 1;
      const w1 = order === 2 && c.solverType === "midpoint" ? 0.5 * phi1 : phi2;
      const noise = sde ? t.sigma * Math.sqrt(Math.exp(2 * h) - 1) : 0;
      next = x.map((v, k) =>
        (t.alpha / s0.alpha) * v -
        t.sigma * k2 * (phi1 * D0[k] + w1 * D1[k]) -
        t.sigma * phi3 * D2[k] * (order === 3 ? 1 : 0) +
        noise * z[k]
      );
    }
    x = next;
    out.push(x);
  }
  return out;
}

/** The same run through the scheduler, on float32 tensors. */
async function tensorRun(
  config: Partial<Cfg>,
  n: number,
  xT: Float64Array,
  noises: Float64Array[] = [],
  learned = false,
): Promise<Float32Array[]> {
  const s = new DPMSolverMultistepScheduler(config);
  s.setTimesteps(n);
  let x = tf.tensor4d(Float32Array.from(xT), SHAPE);
  const out: Float32Array[] = [];
  for (let i = 0; i < s.timesteps.length; i++) {
    const t = s.timesteps[i];
    const res = tf.tidy(() => {
      let m = tensorModel(x, t);
      if (learned) m = tf.concat([m, tf.onesLike(m)], 3);
      const z = noises[i] ? tf.tensor4d(Float32Array.from(noises[i]), SHAPE) : undefined;
      const r = s.step(m, t, x, { noise: z });
      return r.prevSample;
    });
    x.dispose();
    x = res;
    out.push(await x.data() as Float32Array);
  }
  x.dispose();
  return out;
}

// float32 tensors against float64: relative 2e-5 of the largest value, checked at every step.
async function assertMatches(
  config: Partial<Cfg>,
  n: number,
  opts: { noise?: boolean; learned?: boolean; seed?: number } = {},
): Promise<void> {
  const xT = randn(SIZE, opts.seed ?? 11);
  const { ts } = hostSchedule({ ...DEFAULTS, ...config }, n);
  const noises = opts.noise ? ts.map((_, i) => randn(SIZE, 100 + i)) : [];
  const host = hostRun({ ...DEFAULTS, ...config }, n, xT, noises);
  const got = await tensorRun(config, n, xT, noises, opts.learned);
  assert.equal(got.length, host.length, "number of steps");
  host.forEach((h, i) => {
    const scale = Math.max(...h.map(Math.abs));
    assertClose(got[i], h, {
      rtol: 0,
      atol: 2e-5 * scale,
      msg: `${JSON.stringify(config)} n=${n} step ${i}:`,
    });
  });
}

// ---------------------------------------------------------------------------------------------

Deno.test("DPMSolverMultistepScheduler.setTimesteps() gives diffusers' timesteps and sigmas", () => {
  const T = 1000;
  const sigmaAt = (t: number) => {
    let ab = 1;
    for (let i = 0; i <= t; i++) ab *= 1 - (1e-4 + (0.02 - 1e-4) * i / (T - 1));
    return Math.sqrt((1 - ab) / ab);
  };
  const check = (config: Partial<Cfg>, n: number, want: number[], last = 0) => {
    const s = new DPMSolverMultistepScheduler(config);
    s.setTimesteps(n);
    assert.deepEqual(Array.from(s.timesteps), want, JSON.stringify(config));
    assert.equal(s.sigmas.length, want.length + 1);
    want.forEach((t, i) => assertNear(s.sigmas[i], sigmaAt(t), 1e-12 * sigmaAt(t), `sigma ${t}`));
    assertNear(s.sigmas[want.length], last, 1e-15, "final sigma");
  };
  // linspace: round(k * 99.9) for k = 10 ... 1; 499.5 rounds to even.
  check({}, 10, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
  // leading: 1000 // 11 = 90, times k = 10 ... 1, plus the offset.
  check({ timestepSpacing: "leading", stepsOffset: 1 }, 10, [
    901,
    811,
    721,
    631,
    541,
    451,
    361,
    271,
    181,
    91,
  ]);
  // trailing: arange(1000, 0, -100) - 1; final sigma the schedule's smallest, sqrt(b0 / (1 - b0)).
  check(
    { timestepSpacing: "trailing", finalSigmasType: "sigma_min" },
    10,
    [999, 899, 799, 699, 599, 499, 399, 299, 199, 99],
    Math.sqrt(1e-4 / (1 - 1e-4)),
  );
  // lambda clipped between t = 899 and 900 leaves 900 timesteps: round(k * 89.9).
  const lambda = (t: number) => -Math.log(sigmaAt(t));
  check({ lambdaMinClipped: (lambda(899) + lambda(900)) / 2 }, 10, [
    899,
    809,
    719,
    629,
    539,
    450,
    360,
    270,
    180,
    90,
  ]);
  // 20 steps, linspace: k * 49.95; 10 * 49.95 = 499.5 rounds to 500.
  const s = new DPMSolverMultistepScheduler();
  s.setTimesteps(20);
  assert.deepEqual(
    Array.from(s.timesteps),
    [
      999,
      949,
      899,
      849,
      799,
      749,
      699,
      649,
      599,
      549,
      500,
      450,
      400,
      350,
      300,
      250,
      200,
      150,
      100,
      50,
    ],
  );
});

Deno.test("DPMSolverMultistepScheduler with Karras sigmas: rho = 7 levels, interpolated timesteps", () => {
  const s = new DPMSolverMultistepScheduler({ useKarrasSigmas: true });
  const plain = new DPMSolverMultistepScheduler();
  plain.setTimesteps(1000);
  s.setTimesteps(8);
  const all = new DPMSolverMultistepScheduler();
  const ab = all.alphasCumprod;
  const sig = Array.from(ab, (a) => Math.sqrt((1 - a) / a));
  const [smin, smax] = [sig[0], sig[999]];
  for (let i = 0; i < 8; i++) {
    // Karras et al. (2022) eq. 5.
    const want = (smax ** (1 / 7) + (i / 7) * (smin ** (1 / 7) - smax ** (1 / 7))) ** 7;
    assertNear(s.sigmas[i], want, 1e-12 * want, `sigma ${i}`);
    // The timestep is the nearest training timestep in log sigma, within half a step.
    const t = s.timesteps[i];
    const logs = Math.log(want);
    const lo = Math.log(sig[Math.max(t - 1, 0)]), hi = Math.log(sig[Math.min(t + 1, 999)]);
    assert.ok(lo <= logs + 1e-12 && logs <= hi + 1e-12, `t=${t} brackets sigma ${want}`);
  }
  assert.equal(s.timesteps[0], 999);
  assert.equal(s.timesteps[7], 0);
  assert.equal(s.sigmas[8], 0);
  assert.deepEqual(
    Array.from(s.timesteps),
    hostSchedule({ ...DEFAULTS, useKarrasSigmas: true }, 8).ts,
  );
});

Deno.test("DPMSolverMultistepScheduler.step() matches the host DPM-Solver++ for every order and option", async () => {
  for (const solverOrder of [1, 2, 3]) {
    await assertMatches({ solverOrder }, 20);
    await assertMatches({ solverOrder }, 10); // lower order over the last steps
  }
  await assertMatches({ solverOrder: 2, solverType: "heun" }, 12);
  await assertMatches({ solverOrder: 3, solverType: "heun" }, 16);
  // Without lowerOrderFinal and with a final sigma > 0, the last steps keep their order.
  await assertMatches({ solverOrder: 3, lowerOrderFinal: false, finalSigmasType: "sigma_min" }, 8);
  await assertMatches({ solverOrder: 2, finalSigmasType: "sigma_min" }, 16);
  await assertMatches({ solverOrder: 2, finalSigmasType: "sigma_min", eulerAtFinal: true }, 16);
  await assertMatches({ useKarrasSigmas: true, solverOrder: 3 }, 12);
  // Karras levels end at sigma_min, so a final level of sigma_min makes a last step of h ~ 0.
  await assertMatches({ useKarrasSigmas: true, finalSigmasType: "sigma_min" }, 16);
  await assertMatches({ timestepSpacing: "leading", stepsOffset: 1 }, 15);
  await assertMatches({ timestepSpacing: "trailing", rescaleBetasZeroSnr: true }, 15);
  await assertMatches({ betaSchedule: "squaredcos_cap_v2", lambdaMinClipped: -5.1 }, 12);
  await assertMatches({ predictionType: "v_prediction", solverOrder: 3 }, 12);
  await assertMatches({ predictionType: "sample" }, 12);
  await assertMatches(
    { thresholding: true, dynamicThresholdingRatio: 0.9, sampleMaxValue: 1.5 },
    12,
  );
  await assertMatches({ varianceType: "learned_range" }, 10, { learned: true });
});

Deno.test("DPMSolverMultistepScheduler.step() matches the host SDE-DPM-Solver++ and DPM-Solver with given noise", async () => {
  for (const solverOrder of [1, 2, 3]) {
    await assertMatches({ algorithmType: "sde-dpmsolver++", solverOrder }, 12, { noise: true });
  }
  await assertMatches({ algorithmType: "sde-dpmsolver++", solverType: "heun" }, 12, {
    noise: true,
  });
  for (const solverOrder of [2, 3]) {
    for (const solverType of ["midpoint", "heun"] as const) {
      await assertMatches(
        { algorithmType: "dpmsolver", finalSigmasType: "sigma_min", solverOrder, solverType },
        12,
      );
    }
  }
  await assertMatches(
    { algorithmType: "dpmsolver", finalSigmasType: "sigma_min", thresholding: true },
    12,
  );
  for (const solverType of ["midpoint", "heun"] as const) {
    await assertMatches(
      { algorithmType: "sde-dpmsolver", finalSigmasType: "sigma_min", solverType },
      12,
      { noise: true },
    );
  }
});

/**
 * Gaussian data x_0 ~ N(mu, s^2) per pixel. At noise level (alpha, sigma) its exact noise
 * predictor is eps(x) = sigma (x - alpha mu) / (alpha^2 s^2 + sigma^2), and the diffusion ODE
 * keeps z = (x - alpha mu) / sqrt(alpha^2 s^2 + sigma^2) fixed, so the exact end point of a run
 * from x_T is known. A final step to sigma 0 returns E[x_0 | x] = mu + alpha s^2 z / sqrt(...)
 * at the last level, by design, so then that is the exact answer.
 */
async function gaussianToy(config: Partial<Cfg>, steps: number, seed: number) {
  const [mu, sd] = [0.3, 0.5];
  const shape: [number, number, number, number] = [16, 16, 16, 1];
  const s = new DPMSolverMultistepScheduler(config);
  s.setTimesteps(steps);
  const n = s.timesteps.length;
  // The exact predictor at the level the solver is at (a network would be told the timestep).
  const vp = (ve: number) => [1 / Math.hypot(1, ve), ve / Math.hypot(1, ve)];
  const xT = tf.randomNormal(shape, 0, 1, "float32", seed) as tf.Tensor4D;
  let x = xT.clone();
  for (let i = 0; i < n; i++) {
    const [a, sg] = vp(s.sigmas[i]);
    const next = tf.tidy(() => {
      const eps = tf.mul(tf.sub(x, a * mu), sg / (a * a * sd * sd + sg * sg)) as tf.Tensor4D;
      const r = s.step(eps, s.timesteps[i], x, { seed: seed + i + 1 });
      return r.prevSample;
    });
    x.dispose();
    x = next;
  }
  const [aT, sT] = vp(s.sigmas[0]);
  const toZero = s.sigmas[n] === 0;
  const [aE, sE] = vp(s.sigmas[toZero ? n - 1 : n]);
  const exact = tf.tidy(() => {
    const z = tf.div(tf.sub(xT, aT * mu), Math.hypot(aT * sd, sT));
    const scale = toZero ? aE * sd * sd / Math.hypot(aE * sd, sE) : Math.hypot(aE * sd, sE);
    return tf.add(tf.mul(z, scale), toZero ? mu : aE * mu);
  });
  const got = await x.data(), want = await exact.data();
  tf.dispose([x, xT, exact]);
  const moments = (v: ArrayLike<number>) => {
    let mean = 0, variance = 0;
    for (let i = 0; i < v.length; i++) mean += v[i] / v.length;
    for (let i = 0; i < v.length; i++) variance += (v[i] - mean) ** 2 / (v.length - 1);
    return { mean, variance };
  };
  let maxErr = 0;
  for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
  // The exact distribution's moments: N(alpha mu, alpha^2 s^2 + sigma^2) at the last level, or
  // of E[x_0 | x] there: N(mu, (alpha s^2)^2 / (alpha^2 s^2 + sigma^2)).
  const law = toZero
    ? { mean: mu, variance: (aE * sd * sd) ** 2 / ((aE * sd) ** 2 + sE * sE) }
    : { mean: aE * mu, variance: (aE * sd) ** 2 + sE * sE };
  return { maxErr, got: moments(got), want: moments(want), law, count: got.length };
}

Deno.test("DPMSolverMultistepScheduler samples a Gaussian's exact ODE solution and distribution in 20 steps", async () => {
  // The default sampler (DPM-Solver++ 2M, linspace, a last step to sigma 0), as the CLI runs it.
  const first = await gaussianToy({ solverOrder: 1 }, 20, 1);
  const second = await gaussianToy({}, 20, 1);
  // Per draw, against the exact solution from the same x_T (measured: 0.018; DDIM 0.14).
  assert.ok(second.maxErr < 0.03, `2M: max error ${second.maxErr}`);
  assert.ok(second.maxErr < first.maxErr / 4, `2M ${second.maxErr} vs DDIM ${first.maxErr}`);
  // The distribution: the draws' mean within 0.005 and variance within 5% of the exact
  // solution's draws (measured 0.0000 and 2.3%).
  assertNear(second.got.mean, second.want.mean, 0.005, "mean");
  assertNear(second.got.variance, second.want.variance, 0.05 * second.want.variance, "variance");
  // Third order with Karras levels ending at sigma_min stays on the ODE (measured 1.5e-4).
  const karras = await gaussianToy(
    { solverOrder: 3, useKarrasSigmas: true, finalSigmasType: "sigma_min" },
    20,
    1,
  );
  assert.ok(karras.maxErr < 1e-3, `3M Karras: max error ${karras.maxErr}`);
  // The SDE solver draws noise at every step, so only its distribution can be checked: 4096
  // draws, mean within 4 standard errors, variance within 10%.
  const sde = await gaussianToy({ algorithmType: "sde-dpmsolver++" }, 20, 2);
  const se = Math.sqrt(sde.law.variance / sde.count);
  assertNear(sde.got.mean, sde.law.mean, 4 * se, "SDE mean");
  assertNear(sde.got.variance, sde.law.variance, 0.1 * sde.law.variance, "SDE variance");
});

Deno.test("DPMSolverMultistepScheduler: a last step that does not move is the identity, not NaN", async () => {
  // Karras levels end at sigma_min; with finalSigmasType "sigma_min" the last step has h ~ 0,
  // where the SDE's sqrt(1 - e^-2h) and Heun's (e^-h - 1) / h would be NaN.
  for (const algorithmType of ["sde-dpmsolver++", "dpmsolver++"] as const) {
    const config = {
      useKarrasSigmas: true,
      finalSigmasType: "sigma_min",
      solverType: "heun",
      algorithmType,
    } as const;
    const xT = randn(SIZE, 5);
    const steps = await tensorRun(
      config,
      16,
      xT,
      Array.from({ length: 16 }, (_, i) => randn(SIZE, i)),
    );
    const [before, last] = steps.slice(-2);
    assert.ok(last.every(Number.isFinite), `${algorithmType}: NaN`);
    assertClose(last, before, { rtol: 0, atol: 1e-6, msg: `${algorithmType}: last step moved` });
  }
});

Deno.test("DPMSolverMultistepScheduler keeps no tensors after a full sampling loop", () => {
  for (const algorithmType of ["dpmsolver++", "sde-dpmsolver++"] as const) {
    const s = new DPMSolverMultistepScheduler({
      solverOrder: 3,
      algorithmType,
      thresholding: true,
    });
    const x0 = tf.randomNormal(SHAPE, 0, 1, "float32", 3) as tf.Tensor4D;
    for (const run of [0, 1]) {
      const before = tf.memory().numTensors;
      s.setTimesteps(run === 0 ? 12 : 20);
      let x = x0.clone();
      for (const t of s.timesteps) {
        const out = tf.tidy(() => tensorModel(x, t));
        const r = s.step(out, t, x, { seed: t });
        tf.dispose([x, out, r.predOriginalSample]);
        x = r.prevSample;
        // History: at most solverOrder - 1 = 2 tensors between steps, besides x.
        assert.ok(tf.memory().numTensors <= before + 3, `t=${t}: ${tf.memory().numTensors}`);
      }
      x.dispose();
      assert.equal(tf.memory().numTensors, before, `${algorithmType} run ${run}: leaked`);
    }
    // Stopping partway and starting over frees the history too.
    const before = tf.memory().numTensors;
    s.setTimesteps(10);
    const r = s.step(x0, s.timesteps[0], x0, { seed: 1 });
    tf.dispose([r.prevSample, r.predOriginalSample]);
    s.setTimesteps(10);
    assert.equal(tf.memory().numTensors, before, "setTimesteps frees the history");
    x0.dispose();
  }
});

Deno.test("DPMSolverMultistepScheduler.step() refuses timesteps out of order and bad shapes", () => {
  const s = new DPMSolverMultistepScheduler();
  const x = tf.zeros(SHAPE) as tf.Tensor4D;
  assert.throws(() => s.step(x, 999, x), /setTimesteps/);
  s.setTimesteps(10);
  assert.throws(() => s.step(x, 998, x), /not one of this run's timesteps/);
  const r = s.step(x, 999, x);
  tf.dispose([r.prevSample, r.predOriginalSample]);
  assert.throws(() => s.step(x, 999, x), /expected timestep 899/);
  assert.throws(() => s.step(tf.zeros([2, 4, 4, 6]) as tf.Tensor4D, 899, x), /model output shape/);
  s.reset();
  x.dispose();
});

Deno.test("DPMSolverMultistepScheduler config: defaults, validation, diffusers' JSON", () => {
  const s = new DPMSolverMultistepScheduler();
  assert.equal(s.config.solverOrder, 2);
  assert.equal(s.config.algorithmType, "dpmsolver++");
  assert.equal(s.config.timestepSpacing, "linspace");
  assert.equal(s.config.lambdaMinClipped, -Infinity);
  assert.throws(() => new DPMSolverMultistepScheduler({ solverOrder: 0 }), /solverOrder/);
  assert.throws(
    () => new DPMSolverMultistepScheduler({ algorithmType: "dpmsolver" }),
    /finalSigmasType "zero"/,
  );
  assert.throws(
    () =>
      new DPMSolverMultistepScheduler({
        algorithmType: "sde-dpmsolver",
        finalSigmasType: "sigma_min",
        solverOrder: 3,
      }),
    /third-order/,
  );
  assert.throws(
    () => new DPMSolverMultistepScheduler({ solverType: "bh2" as "heun" }),
    /solverType/,
  );
  assert.throws(() => new DPMSolverMultistepScheduler({ betaEnd: 2 }), /beta_end/);
  // A diffusers scheduler_config.json as the hub has them (nulls for the defaults).
  const json = {
    _class_name: "DPMSolverMultistepScheduler",
    _diffusers_version: "0.30.0",
    algorithm_type: "deis",
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    dynamic_thresholding_ratio: 0.995,
    euler_at_final: false,
    final_sigmas_type: "zero",
    lambda_min_clipped: null,
    lower_order_final: true,
    num_train_timesteps: 1000,
    prediction_type: "v_prediction",
    sample_max_value: 1.0,
    solver_order: 2,
    solver_type: "logrho",
    steps_offset: 1,
    thresholding: false,
    timestep_spacing: "leading",
    trained_betas: null,
    use_karras_sigmas: true,
    use_lu_lambdas: false,
    variance_type: null,
    clip_sample: true,
  };
  const loaded = DPMSolverMultistepScheduler.fromConfig(json);
  assert.equal(loaded.config.algorithmType, "dpmsolver++");
  assert.equal(loaded.config.solverType, "midpoint");
  assert.equal(loaded.config.betaSchedule, "scaled_linear");
  assert.equal(loaded.config.predictionType, "v_prediction");
  assert.equal(loaded.config.useKarrasSigmas, true);
  assert.equal(loaded.config.stepsOffset, 1);
  const again = DPMSolverMultistepScheduler.fromConfig(loaded.toConfig());
  assert.deepEqual(again.config, loaded.config);
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ use_exponential_sigmas: true }),
    /use_exponential_sigmas/,
  );
  // A DDPM config (with clipping) as it is: the fields DPM-Solver lacks are ignored.
  const fromDdpm = new DPMSolverMultistepScheduler({
    clipSample: true,
    varianceType: "fixed_large",
  });
  assert.equal(fromDdpm.config.varianceType, "fixed_large");
});

Deno.test("sample() with DPMSolverMultistepScheduler: Gaussian data in 20 steps, the same in chunks", async () => {
  // A "UNet" that is the exact noise predictor of N(0.3, 0.5^2) pixels, told the timestep.
  const s = new DPMSolverMultistepScheduler();
  const ab = s.alphasCumprod;
  const unet = {
    config: { resolution: 8, inChannels: 1 },
    predict: (x: tf.Tensor4D, t: tf.Tensor1D) => {
      const a = Math.sqrt(ab[t.dataSync()[0]]), sg = Math.sqrt(1 - a * a);
      return tf.mul(tf.sub(x, 0.3 * a), sg / (0.25 * a * a + sg * sg)) as tf.Tensor4D;
    },
  };
  const before = tf.memory().numTensors;
  const whole = await sample({ unet, scheduler: s, batchSize: 64, numInferenceSteps: 20 });
  const chunked = await sample({
    unet,
    scheduler: s,
    batchSize: 64,
    numInferenceSteps: 20,
    chunkSize: 24,
  });
  const a = await whole.data(), b = await chunked.data();
  assert.deepEqual(a, b, "chunking changes nothing");
  let mean = 0;
  for (const v of a) mean += v / a.length;
  // 4096 draws of N(0.3, 0.22): 4 standard errors.
  assertNear(mean, 0.3, 4 * Math.sqrt(0.23 / a.length), "mean");
  tf.dispose([whole, chunked]);
  assert.equal(tf.memory().numTensors, before, "no tensors left");
});
