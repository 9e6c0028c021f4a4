// Beta schedules, the paper's closed forms and inference timesteps, checked against float64
// formulas written out independently here (no TensorFlow.js involved).
import {
  alphasFromBetas,
  cumulativeProduct,
  forwardCoefficients,
  linearBetas,
  makeBetas,
  posteriorMeanCoefficients,
  posteriorVariance,
  type SchedulerConfig,
  stepCoefficients,
} from "../mod.ts";
import {
  inferenceTimesteps,
  posteriorVariances,
  rescaleBetasZeroSnr,
} from "../src/diffusion/mod.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";

const T = 1000;

/** alpha-bar by summing logs, a different route from the running product under test. */
function alphaBarFromBetas(beta: (i: number) => number, n = T): Float64Array {
  const out = new Float64Array(n);
  let logSum = 0;
  for (let i = 0; i < n; i++) {
    logSum += Math.log1p(-beta(i));
    out[i] = Math.exp(logSum);
  }
  return out;
}

function abarOf(config: Partial<SchedulerConfig>): Float64Array {
  const betas = makeBetas({
    numTrainTimesteps: T,
    betaStart: 1e-4,
    betaEnd: 0.02,
    betaSchedule: "linear",
    trainedBetas: null,
    rescaleBetasZeroSnr: false,
    ...config,
  });
  return cumulativeProduct(alphasFromBetas(betas));
}

Deno.test("makeBetas('linear') gives the paper's alphas_cumprod", () => {
  const expected = alphaBarFromBetas((i) => 1e-4 + (0.02 - 1e-4) * i / (T - 1));
  assertClose(abarOf({ betaSchedule: "linear" }), expected, { rtol: 1e-12 });
  // Known values of the paper's schedule: alpha-bar_T is about 4.0e-5.
  assertNear(abarOf({})[T - 1], 4.0358e-5, 1e-8);
});

Deno.test("makeBetas('scaled_linear') squares a linear ramp of sqrt(beta)", () => {
  const [s, e] = [0.00085, 0.012];
  const expected = alphaBarFromBetas((i) =>
    (Math.sqrt(s) + (Math.sqrt(e) - Math.sqrt(s)) * i / (T - 1)) ** 2
  );
  assertClose(abarOf({ betaSchedule: "scaled_linear", betaStart: s, betaEnd: e }), expected, {
    rtol: 1e-12,
  });
});

Deno.test("makeBetas('squaredcos_cap_v2') telescopes to the cosine alpha-bar until the cap", () => {
  const f = (s: number) => Math.cos((s + 0.008) / 1.008 * Math.PI / 2) ** 2;
  const abar = abarOf({ betaSchedule: "squaredcos_cap_v2" });
  // Uncapped betas are 1 - f(t2)/f(t1), so their product is f((t + 1) / T) / f(0).
  const expected = Float64Array.from({ length: T - 1 }, (_, t) => f((t + 1) / T) / f(0));
  assertClose(abar.subarray(0, T - 1), expected, { rtol: 1e-9 });
  const betas = makeBetas({
    numTrainTimesteps: T,
    betaStart: 1,
    betaEnd: 1,
    betaSchedule: "squaredcos_cap_v2",
    trainedBetas: null,
    rescaleBetasZeroSnr: false,
  });
  assert.equal(betas[T - 1], 0.999, "the last beta is capped at 0.999");
});

Deno.test("makeBetas('sigmoid') follows a logistic curve over [-6, 6]", () => {
  const [s, e] = [1e-4, 0.02];
  const expected = alphaBarFromBetas((i) => s + (e - s) / (1 + Math.exp(6 - 12 * i / (T - 1))));
  assertClose(abarOf({ betaSchedule: "sigmoid" }), expected, { rtol: 1e-12 });
});

Deno.test("makeBetas() uses trainedBetas as given and checks their length", () => {
  const trained = [0.1, 0.2, 0.3];
  const abar = cumulativeProduct(alphasFromBetas(makeBetas({
    numTrainTimesteps: 3,
    betaStart: 1e-4,
    betaEnd: 0.02,
    betaSchedule: "linear",
    trainedBetas: trained,
    rescaleBetasZeroSnr: false,
  })));
  assertClose(abar, [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7], { rtol: 1e-15 });
  assert.throws(
    () => abarOf({ trainedBetas: trained }),
    (e: unknown) => e instanceof RangeError && /length 3/.test(e.message),
  );
});

Deno.test("makeBetas() rejects an unknown schedule with a RangeError naming it", () => {
  assert.throws(
    () => abarOf({ betaSchedule: "cosine" as SchedulerConfig["betaSchedule"] }),
    (e: unknown) => e instanceof RangeError && /"cosine"/.test(e.message),
  );
});

Deno.test("rescaleBetasZeroSnr() shifts and scales sqrt(alpha-bar) to end at zero", () => {
  const before = abarOf({});
  const after = abarOf({ rescaleBetasZeroSnr: true });
  const s0 = Math.sqrt(before[0]), sT = Math.sqrt(before[T - 1]);
  const expected = Float64Array.from(
    before,
    (a) => ((Math.sqrt(a) - sT) * s0 / (s0 - sT)) ** 2,
  );
  assertClose(after, expected, { rtol: 1e-10, atol: 1e-15 });
  assert.equal(after[T - 1], 0, "terminal SNR is zero");
  assertNear(after[0], before[0], 1e-15, "first alpha-bar unchanged");
  assert.equal(rescaleBetasZeroSnr(linearBetas(1e-4, 0.02, T))[T - 1], 1);
});

Deno.test("posteriorVariance() of the linear schedule at t = 487 is diffusers' 0.00979", () => {
  const abar = alphaBarFromBetas((i) => 1e-4 + (0.02 - 1e-4) * i / (T - 1));
  const beta487 = 1e-4 + (0.02 - 1e-4) * 487 / (T - 1);
  const expected = (1 - abar[486]) / (1 - abar[487]) * beta487;
  const ours = abarOf({});
  assertNear(posteriorVariance(ours[487], ours[486]), expected, 1e-12);
  assertNear(posteriorVariance(ours[487], ours[486]), 0.0097916, 1e-5);
  assertNear(posteriorVariances(ours)[487], 0.0097916, 1e-5);
  assert.equal(posteriorVariances(ours)[0], 0, "no variance on the step into x_0");
});

Deno.test("posteriorMeanCoefficients() give eq. 11's mean when x_0 comes from eps (eq. 15)", () => {
  const abar = abarOf({});
  for (const t of [1, 10, 487, 999]) {
    const [xt, eps] = [0.7, -1.3];
    const { sqrtAlphaProd, sqrtOneMinusAlphaProd } = forwardCoefficients(abar[t]);
    const x0 = (xt - sqrtOneMinusAlphaProd * eps) / sqrtAlphaProd; // eq. 15
    assertNear(sqrtAlphaProd * x0 + sqrtOneMinusAlphaProd * eps, xt, 1e-12, "eq. 4 round trip");
    const { x0Coef, xtCoef } = posteriorMeanCoefficients(abar[t], abar[t - 1]);
    const alpha = 1 - (1e-4 + (0.02 - 1e-4) * t / (T - 1));
    const eq11 = (xt - (1 - alpha) / Math.sqrt(1 - abar[t]) * eps) / Math.sqrt(alpha);
    assertNear(x0Coef * x0 + xtCoef * xt, eq11, 1e-10, `t=${t}`);
  }
});

Deno.test("forwardCoefficients() are sqrt(alpha-bar) and sqrt(1 - alpha-bar)", () => {
  for (const a of [1, 0.9999, 0.36, 4e-5, 0]) {
    const c = forwardCoefficients(a);
    assertNear(c.sqrtAlphaProd ** 2, a, 1e-15);
    assertNear(c.sqrtOneMinusAlphaProd ** 2, 1 - a, 1e-15);
  }
});

Deno.test("stepCoefficients() spans a stride and rejects timesteps out of range", () => {
  const abar = abarOf({});
  const c = stepCoefficients(abar, 980, 960);
  assertNear(c.currentAlphaT, abar[980] / abar[960], 1e-15);
  assert.equal(stepCoefficients(abar, 0, -1).alphaProdPrev, 1);
  assert.equal(stepCoefficients(abar, 0, -1, 0.5).alphaProdPrev, 0.5);
  for (const t of [-1, 1000, 2.5]) {
    assert.throws(
      () => stepCoefficients(abar, t, -1),
      (e: unknown) => e instanceof RangeError && e.message.includes(`Timestep ${t}`),
    );
  }
  assert.throws(() => stepCoefficients(abar, 5, 5), RangeError);
});

const spacing = (timestepSpacing: SchedulerConfig["timestepSpacing"], stepsOffset = 0) => ({
  numTrainTimesteps: T,
  timestepSpacing,
  stepsOffset,
});

Deno.test("inferenceTimesteps('leading') is k * floor(T / n) + stepsOffset", () => {
  assert.deepEqual(
    [...inferenceTimesteps(10, spacing("leading"))],
    [900, 800, 700, 600, 500, 400, 300, 200, 100, 0],
  );
  assert.deepEqual([...inferenceTimesteps(3, spacing("leading", 1))], [667, 334, 1]);
  const fifty = inferenceTimesteps(50, spacing("leading"));
  assert.equal(fifty.length, 50);
  assert.equal(fifty[0], 980);
});

Deno.test("inferenceTimesteps('linspace') rounds linspace(0, T - 1, n) half to even", () => {
  assert.deepEqual(
    [...inferenceTimesteps(10, spacing("linspace"))],
    [999, 888, 777, 666, 555, 444, 333, 222, 111, 0],
  );
  // 999 / 6 = 166.5: numpy rounds 166.5 to 166, 499.5 to 500 and 832.5 to 832.
  assert.deepEqual(
    [...inferenceTimesteps(7, spacing("linspace"))],
    [999, 832, 666, 500, 333, 166, 0],
  );
  assert.deepEqual([...inferenceTimesteps(1, spacing("linspace"))], [0]);
});

Deno.test("inferenceTimesteps('trailing') is round(T - k T / n) - 1", () => {
  assert.deepEqual(
    [...inferenceTimesteps(10, spacing("trailing"))],
    [999, 899, 799, 699, 599, 499, 399, 299, 199, 99],
  );
  // 1000 / 3 = 333.33: round(1000, 666.67, 333.33) - 1.
  assert.deepEqual([...inferenceTimesteps(3, spacing("trailing"))], [999, 666, 332]);
  // numpy's arange returns 62 values here (the last rounds to -1); we keep the 61 real ones.
  const ts = inferenceTimesteps(61, spacing("trailing"));
  assert.equal(ts.length, 61);
  assert.equal(ts[60], Math.round(1000 - 60 * 1000 / 61) - 1);
  assert.deepEqual([...inferenceTimesteps(T, spacing("trailing"))].slice(-3), [2, 1, 0]);
});

Deno.test("inferenceTimesteps() rejects a bad step count or offset, naming the value", () => {
  for (const n of [0, 1001, 2.5, -3]) {
    assert.throws(
      () => inferenceTimesteps(n, spacing("leading")),
      (e: unknown) => e instanceof RangeError && e.message.includes(`current value is ${n}`),
    );
  }
  assert.throws(
    () => inferenceTimesteps(1000, spacing("leading", 1)),
    (e: unknown) => e instanceof RangeError && /stepsOffset 1/.test(e.message),
  );
});
