// The fused optimiser kernels (src/backends/cpu/fused/optimizer_kernels.ts) against the float64 host
// Adam of optimizer_test.ts and against the composition of stock ops that backends without
// the kernels run (cpu with the kernels unregistered, and wasm).
import * as tf from "@tensorflow/tfjs";
import { createAdamState, setBackend } from "../mod.ts";
import { mulberry32 } from "../src/random.ts";
import { adamUpdate, emaUpdate, globalNorm } from "../src/train/mod.ts";
import { registerOptimizerKernels } from "../src/backends/cpu/fused/optimizer_kernels.ts";
import {
  ADAM,
  ADAM_ALL,
  EMA,
  EMA_ALL,
  SUM_SQUARES,
  SUM_SQUARES_ALL,
} from "../src/kernels/_optimizer.ts";
import { assert, assertClose, assertNear } from "./_assert.ts";
import { hostAdam } from "./_host_adam.ts";

await setBackend("cpu");
registerOptimizerKernels("cpu");

const SHAPES: Record<string, number[]> = {
  "conv.weight": [3, 3, 4, 8],
  "conv.bias": [8],
  "dense.weight": [16, 5],
};
const NAMES = Object.keys(SHAPES);
const B1 = 0.9, B2 = 0.999, EPS = 1e-8, CLIP = 1;
const LR = [1e-3, 2e-3, 3e-3, 4e-3, 4e-3];
// Gradient magnitudes per step: steps 1, 3 and 5 are clipped (scale != 1), 2 and 4 are not.
const GRAD_SCALE = [5, 0.01, 3, 0.02, 10];
// EMA decays per step, as emaDecayAt's warmup gives them, then the paper's.
const DECAY = [2 / 11, 3 / 12, 0.9, 0.99, 0.9999];
// Tolerances: against the float64 host, those of optimizer_test.ts (rtol 1e-5, atol 1e-7;
// measured when written: weights within 1e-6 relative). Against the composition: cpu must be
// bit for bit (same float32 operations in the same order); wasm was too when written, and is
// allowed 2e-7 relative (about 1.5 float32 ulp) in case its kernels round differently.

/** Float32-representable values in [-scale, scale): host and device then start equal. */
function rand(n: number, seed: number, scale = 1): number[] {
  const r = mulberry32(seed);
  return Array.from(Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale));
}

const size = (name: string) => SHAPES[name].reduce((a, b) => a * b, 1);
const W0 = NAMES.map((name, i) => rand(size(name), 10 + i));
const GRADS = GRAD_SCALE.map((s, k) => NAMES.map((name, i) => rand(size(name), 100 * k + i, s)));

/** The clipping factor from the float64 global norm of a step's gradients. */
function hostScale(grads: number[][]): number {
  const norm = Math.sqrt(grads.flat().reduce((s, g) => s + g * g, 0));
  return norm > CLIP ? CLIP / norm : 1;
}

interface Run {
  w: number[];
  m: number[];
  v: number[];
  ema: number[];
}

/**
 * Five Adam + EMA steps on the active backend. The clipping factor comes from `globalNorm`
 * unless `scales` are given (to compare paths without the norm's rounding).
 */
function runSteps(scales?: number[]): Run {
  const weights = new Map(
    NAMES.map((name, i) => [name, tf.variable(tf.tensor(W0[i], SHAPES[name]))]),
  );
  const ema = new Map(NAMES.map((name, i) => [name, tf.variable(tf.tensor(W0[i], SHAPES[name]))]));
  const state = createAdamState(weights);
  GRADS.forEach((step, k) => {
    const grads = Object.fromEntries(
      NAMES.map((name, i) => [name, tf.tensor(step[i], SHAPES[name])]),
    );
    let gradScale = scales?.[k];
    if (gradScale === undefined) {
      const norm = globalNorm(grads);
      const n = norm.dataSync()[0];
      norm.dispose();
      gradScale = n > CLIP ? CLIP / n : 1;
    }
    adamUpdate(weights, grads, state, {
      learningRate: LR[k],
      beta1: B1,
      beta2: B2,
      epsilon: EPS,
      step: k + 1,
      gradScale,
    });
    emaUpdate(ema, weights, DECAY[k]);
    tf.dispose(Object.values(grads));
  });
  const flat = (vars: Map<string, tf.Variable>) =>
    NAMES.flatMap((n) => [...vars.get(n)!.dataSync()]);
  const run = { w: flat(weights), m: flat(state.m), v: flat(state.v), ema: flat(ema) };
  tf.dispose([...weights.values(), ...ema.values(), ...state.m.values(), ...state.v.values()]);
  return run;
}

/** Runs `f` on cpu with the optimiser kernels unregistered: the composition. */
function composedOnCpu<T>(f: () => T): T {
  return withoutKernels([ADAM, EMA, SUM_SQUARES, ADAM_ALL, EMA_ALL, SUM_SQUARES_ALL], f);
}

/** Runs `f` on cpu with only the per-weight kernels: one call per weight. */
function perWeightOnCpu<T>(f: () => T): T {
  return withoutKernels([ADAM_ALL, EMA_ALL, SUM_SQUARES_ALL], f);
}

function withoutKernels<T>(names: string[], f: () => T): T {
  for (const name of names) tf.unregisterKernel(name, "cpu");
  try {
    return f();
  } finally {
    registerOptimizerKernels("cpu");
  }
}

const SCALES = GRADS.map(hostScale);

Deno.test("adamUpdate() and emaUpdate() with the kernels match float64 host Adam and EMA", () => {
  assert.ok(SCALES[0] < 1 && SCALES[1] === 1, "steps 1 and 2 should be clipped and unclipped");
  const fused = runSteps();
  const hostW = (steps: number) =>
    hostAdam(W0.flat(), GRADS.slice(0, steps).map((g) => g.flat()), {
      lr: LR,
      b1: B1,
      b2: B2,
      eps: EPS,
      clip: CLIP,
    });
  assertClose(fused.w, hostW(GRADS.length), { rtol: 1e-5, atol: 1e-7, msg: "w" });
  let hostEma = W0.flat();
  DECAY.forEach((d, k) => {
    const w = hostW(k + 1);
    hostEma = hostEma.map((e, i) => d * e + (1 - d) * w[i]);
  });
  assertClose(fused.ema, hostEma, { rtol: 1e-5, atol: 1e-7, msg: "ema" });
});

Deno.test("adamUpdate() and emaUpdate() with the kernels equal the composition on cpu bit for bit", () => {
  const fused = runSteps(SCALES);
  const composed = composedOnCpu(() => runSteps(SCALES));
  for (const key of ["w", "m", "v", "ema"] as const) {
    assert.deepEqual(fused[key], composed[key], key);
  }
});

Deno.test("the kernels over all weights (DdpmAdamAll, DdpmEmaAll) equal one call per weight bit for bit", () => {
  assert.ok(tf.getKernel(ADAM_ALL, "cpu") && tf.getKernel(EMA_ALL, "cpu"));
  const all = runSteps();
  const perWeight = perWeightOnCpu(() => runSteps());
  for (const key of ["w", "m", "v", "ema"] as const) {
    assert.deepEqual(all[key], perWeight[key], key);
  }
});

Deno.test("adamUpdate() and emaUpdate() on wasm: its kernels over all weights equal cpu's bit for bit, and its composition within 2e-7", async () => {
  const fused = runSteps(SCALES);
  await setBackend("wasm");
  let kernels: Run, composed: Run;
  try {
    assert.ok(tf.getKernel(ADAM_ALL, "wasm") && !tf.getKernel(ADAM, "wasm"));
    kernels = runSteps(SCALES);
    const saved = [ADAM_ALL, EMA_ALL, SUM_SQUARES_ALL].map((n) => tf.getKernel(n, "wasm")!);
    for (const k of saved) tf.unregisterKernel(k.kernelName, "wasm");
    try {
      composed = runSteps(SCALES);
    } finally {
      for (const k of saved) tf.registerKernel(k);
    }
  } finally {
    await setBackend("cpu");
  }
  for (const key of ["w", "m", "v", "ema"] as const) {
    assert.deepEqual(kernels[key], fused[key], `${key}: wasm's kernels vs cpu's`);
    assertClose(fused[key], composed[key], { rtol: 2e-7, atol: 1e-12, msg: key });
  }
});

Deno.test("globalNorm() with DdpmSumSquares matches float64 and the composition", () => {
  const grads = Object.fromEntries(
    NAMES.map((name, i) => [name, tf.tensor(GRADS[0][i], SHAPES[name])]),
  );
  const norm = (f: () => tf.Scalar) => {
    const t = f();
    const n = t.dataSync()[0];
    t.dispose();
    return n;
  };
  const expected = Math.sqrt(GRADS[0].flat().reduce((s, g) => s + g * g, 0));
  const fused = norm(() => globalNorm(grads));
  assertNear(fused, expected, 1e-6 * expected, "fused vs float64");
  assertNear(fused, composedOnCpu(() => norm(() => globalNorm(grads))), 1e-6 * expected);
  tf.dispose(Object.values(grads));
});

Deno.test("adamUpdate() and emaUpdate() with the kernels keep the variables and leak nothing", () => {
  const weights = new Map(
    NAMES.map((name, i) => [name, tf.variable(tf.tensor(W0[i], SHAPES[name]))]),
  );
  const ema = new Map(NAMES.map((name, i) => [name, tf.variable(tf.tensor(W0[i], SHAPES[name]))]));
  const state = createAdamState(weights);
  const all = () => [weights, ema, state.m, state.v].flatMap((m) => [...m.values()]);
  const before = all(), names = before.map((v) => v.name);
  const grads = Object.fromEntries(
    NAMES.map((name, i) => [name, tf.tensor(GRADS[0][i], SHAPES[name])]),
  );
  const count = tf.memory().numTensors;
  for (let k = 1; k <= 5; k++) {
    const norm = globalNorm(grads);
    adamUpdate(weights, grads, state, {
      learningRate: 0.1,
      beta1: B1,
      beta2: B2,
      epsilon: EPS,
      step: k,
      gradScale: CLIP / norm.dataSync()[0],
    });
    norm.dispose();
    emaUpdate(ema, weights, 0.99);
    assert.equal(tf.memory().numTensors, count, `tensors after step ${k}`);
  }
  const after = all();
  after.forEach((v, i) => {
    assert.ok(v === before[i], `${names[i]} is the same tf.Variable`);
    assert.equal(v.name, names[i]);
    assert.ok(tf.engine().registeredVariables[v.name] === v, `${v.name} is still registered`);
  });
  assert.ok(weights.get("conv.bias")!.dataSync()[0] !== W0[1][0], "the weights moved");
  tf.dispose([...Object.values(grads), ...after]);
});

Deno.test("DdpmAdam rejects inputs of different sizes; registering twice is harmless", () => {
  const registered = tf.getKernel(ADAM, "cpu");
  registerOptimizerKernels("cpu");
  assert.ok(tf.getKernel(ADAM, "cpu") === registered);
  const [a, b, scale] = [tf.zeros([4]), tf.zeros([3]), tf.scalar(1)];
  assert.throws(
    () => tf.engine().runKernel(ADAM, { w: a, g: b, m: a, v: a, scale }, {}),
    (e: Error) => e instanceof TypeError && /DdpmAdam input g must have 4 values/.test(e.message),
  );
  assert.throws(
    () => tf.engine().runKernel(ADAM, { w: a, g: a, m: a, v: a, scale: a }, {}),
    (e: Error) => e instanceof TypeError && /DdpmAdam needs a scalar/.test(e.message),
  );
  tf.dispose([a, b, scale]);
});

Deno.test("a gradScale tensor of 0 (a skipped step) leaves w, m, v and the EMA as they were, fused and composed", () => {
  const run = () => {
    const weights = new Map([["w", tf.variable(tf.tensor([0.5, -1, 2]))]]);
    const ema = new Map([["w", tf.variable(tf.tensor([0.25, 0, 1]))]]);
    const state = createAdamState(weights);
    const settings = { learningRate: 0.1, beta1: B1, beta2: B2, epsilon: EPS };
    const grads = (g: number[]) => ({ w: tf.tensor(g) });
    const stepWith = (g: number[], scale: number, step: number) => {
      const gs = grads(g), gradScale = tf.scalar(scale);
      adamUpdate(weights, gs, state, { ...settings, step, gradScale });
      emaUpdate(ema, weights, 0.9, { apply: gradScale });
      tf.dispose([gs.w, gradScale]);
    };
    stepWith([1, 2, 3], 0.5, 1); // a real step, so m and v are not zero
    const snap = () => [weights, state.m, state.v, ema].map((m) => [...m.get("w")!.dataSync()]);
    const before = snap();
    stepWith([NaN, Infinity, 1], 0, 2); // skipped: non-finite gradients, scale 0
    const after = snap();
    tf.dispose([...weights.values(), ...ema.values(), ...state.m.values(), ...state.v.values()]);
    return { before, after };
  };
  const fused = run();
  assert.deepEqual(fused.after, fused.before, "fused kernels");
  assert.ok(fused.before[1].every((m) => m !== 0), "the first step moved m");
  const composed = composedOnCpu(run);
  assert.deepEqual(composed.after, composed.before, "composition");
  assert.deepEqual(composed.before, fused.before, "the real step agrees bit for bit");
});
