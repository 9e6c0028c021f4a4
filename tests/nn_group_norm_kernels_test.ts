// The fused group-norm and swish kernels (src/backends/) against float64 host arithmetic and
// against the composition of stock ops that backends without the kernels run.
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { groupNorm, resBlock, swish } from "../src/nn/mod.ts";
import { mulberry32 } from "../src/random.ts";
import { _groupNormBackward } from "../src/backends/cpu/fused/_group_norm_backward.ts";
import { _groupNormForward } from "../src/backends/cpu/fused/_group_norm_forward.ts";
import { _groupStatsOfTensor } from "../src/backends/cpu/fused/_group_stats_memo.ts";
import { registerGroupNormKernels } from "../src/backends/cpu/fused/group_norm_kernels.ts";
import { registerSwishKernels } from "../src/backends/cpu/fused/swish_kernels.ts";
import { assert, assertClose } from "./_assert.ts";

type Shape = [number, number, number, number];
interface Case {
  shape: Shape;
  groups: number;
  /** Added to every x, to check statistics survive |mean| >> std. */
  offset?: number;
}

const CASES: Case[] = [
  { shape: [1, 3, 3, 4], groups: 1 }, // one group of all channels
  { shape: [2, 4, 3, 6], groups: 6 }, // one channel per group
  { shape: [2, 3, 5, 8], groups: 4 }, // two channels per group, batch > 1
  { shape: [3, 2, 2, 12], groups: 3, offset: 100 },
  { shape: [2, 6, 6, 16], groups: 4 },
];
const EPS = 1e-6;
// Tolerances: relative, with an absolute floor (1e-6 for values; for gradients the same
// fraction of the largest gradient). Measured when written: values within 2e-7 of float64,
// gradients within 3e-6, fused vs composed within 1e-6 (values) and 1e-5 (gradients).

function rand(n: number, seed: number, scale = 1): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** Float32-representable test data: the host then sees exactly what the kernel sees. */
function data({ shape, offset = 0 }: Case, seed: number) {
  const size = shape.reduce((a, b) => a * b), c = shape[3];
  const f32 = (a: Float64Array) => Float64Array.from(Float32Array.from(a));
  return {
    // A per-channel offset so that channels of one group have different means.
    x: f32(rand(size, seed, 2).map((v, i) => v + offset + (i % c) * 0.5)),
    gamma: f32(rand(c, seed + 1, 1.5)),
    beta: f32(rand(c, seed + 2)),
    r: f32(rand(size, seed + 3)),
  };
}

/** Float64 group norm (+ swish), written without the kernels' algebra: two passes per group. */
function hostGroupNorm(
  x: Float64Array,
  [n, h, w, c]: Shape,
  gamma: Float64Array,
  beta: Float64Array,
  groups: number,
  swishToo: boolean,
): Float64Array {
  const y = new Float64Array(x.length), cg = c / groups, count = h * w * cg;
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const at = (p: number, k: number) => (b * h * w + p) * c + g * cg + k;
      let mean = 0, v = 0;
      for (let p = 0; p < h * w; p++) for (let k = 0; k < cg; k++) mean += x[at(p, k)];
      mean /= count;
      for (let p = 0; p < h * w; p++) for (let k = 0; k < cg; k++) v += (x[at(p, k)] - mean) ** 2;
      v /= count;
      for (let p = 0; p < h * w; p++) {
        for (let k = 0; k < cg; k++) {
          const z = (x[at(p, k)] - mean) / Math.sqrt(v + EPS) * gamma[g * cg + k] +
            beta[g * cg + k];
          y[at(p, k)] = swishToo ? z / (1 + Math.exp(-z)) : z;
        }
      }
    }
  }
  return y;
}

/** Gradients of sum(r * groupNorm(x)) by float64 central differences of the host forward. */
function hostGrads(cs: Case, d: ReturnType<typeof data>, swishToo: boolean) {
  const loss = () => {
    const y = hostGroupNorm(d.x, cs.shape, d.gamma, d.beta, cs.groups, swishToo);
    return y.reduce((s, v, i) => s + v * d.r[i], 0);
  };
  const diff = (a: Float64Array) =>
    a.map((v, i) => {
      const step = 1e-5 * Math.max(1, Math.abs(v));
      a[i] = v + step;
      const up = loss();
      a[i] = v - step;
      const down = loss();
      a[i] = v;
      return (up - down) / (2 * step);
    });
  return { dx: diff(d.x), dgamma: diff(d.gamma), dbeta: diff(d.beta) };
}

/** Value and the three gradients of sum(r * groupNorm(x)) on the current backend. */
function tfRun(cs: Case, d: ReturnType<typeof data>, swishToo: boolean) {
  return tf.tidy(() => {
    const t = (a: Float64Array, shape: number[]) => tf.tensor(Float32Array.from(a), shape);
    const c = cs.shape[3];
    const x = t(d.x, cs.shape), gamma = t(d.gamma, [c]), beta = t(d.beta, [c]);
    const opts = { groups: cs.groups, eps: EPS, swish: swishToo };
    const f = (xs: tf.Tensor, gs: tf.Tensor, bs: tf.Tensor) =>
      groupNorm(xs as tf.Tensor4D, { gamma: gs as tf.Tensor1D, beta: bs as tf.Tensor1D }, opts);
    const y = f(x, gamma, beta).dataSync();
    const r = t(d.r, cs.shape);
    const [dx, dgamma, dbeta] = tf.grads((xs, gs, bs) => tf.sum(tf.mul(f(xs, gs, bs), r)))([
      x,
      gamma,
      beta,
    ]).map((g) => g.dataSync());
    return { y, dx, dgamma, dbeta };
  });
}

const maxAbs = (a: ArrayLike<number>) =>
  Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Gradients compared elementwise, with an absolute floor at a fraction of the largest one. */
function assertGradsClose(
  got: Record<"dx" | "dgamma" | "dbeta", ArrayLike<number>>,
  want: Record<"dx" | "dgamma" | "dbeta", ArrayLike<number>>,
  tol: number,
  msg: string,
) {
  for (const k of ["dx", "dgamma", "dbeta"] as const) {
    assertClose(got[k], want[k], { rtol: tol, atol: tol * maxAbs(want[k]), msg: `${msg} ${k}` });
  }
}

const label = (cs: Case, s: boolean) => `${cs.shape} groups ${cs.groups} swish ${s}`;

async function fusedCpu() {
  await setBackend("cpu");
  registerGroupNormKernels("cpu");
  registerSwishKernels("cpu");
}

Deno.test("groupNorm() fused on cpu matches float64 values (1e-5) and gradients (1e-4)", async () => {
  await fusedCpu();
  for (const cs of CASES) {
    for (const s of [false, true]) {
      const d = data(cs, 1);
      const got = tfRun(cs, d, s);
      const want = hostGroupNorm(d.x, cs.shape, d.gamma, d.beta, cs.groups, s);
      assertClose(got.y, want, { rtol: 1e-5, atol: 1e-6, msg: label(cs, s) });
      assertGradsClose(got, hostGrads(cs, d, s), 1e-4, label(cs, s));
    }
  }
});

Deno.test("groupNorm() fused on cpu matches the composition of stock ops on wasm", async () => {
  const cases = CASES.filter((cs) => !cs.offset); // float32 composition loses digits there
  const runs = async (backend: "cpu" | "wasm") => {
    if (backend === "cpu") await fusedCpu();
    else await setBackend(backend);
    return cases.flatMap((cs) => [false, true].map((s) => tfRun(cs, data(cs, 7), s)));
  };
  const fused = await runs("cpu"), composed = await runs("wasm");
  assert.equal(tf.getKernel("DdpmGroupNorm", "wasm"), undefined);
  cases.flatMap((cs) => [false, true].map((s) => label(cs, s))).forEach((msg, i) => {
    assertClose(fused[i].y, composed[i].y, { rtol: 1e-5, atol: 1e-5, msg });
    assertGradsClose(fused[i], composed[i], 1e-4, msg);
  });
});

Deno.test("groupNorm() fused runs one kernel forward and one backward for x, gamma, beta", async () => {
  await fusedCpu();
  const x = tf.randomNormal([2, 4, 4, 8]) as tf.Tensor4D;
  const gamma = tf.ones([8]) as tf.Tensor1D, beta = tf.zeros([8]) as tf.Tensor1D;
  const opts = { groups: 2, swish: true };
  const info = await tf.profile(() => {
    const grads = tf.grads((xs, gs, bs) =>
      tf.sum(
        groupNorm(xs as tf.Tensor4D, { gamma: gs as tf.Tensor1D, beta: bs as tf.Tensor1D }, opts),
      )
    )([x, gamma, beta]);
    tf.dispose(grads);
  });
  const names = info.kernels.map((k) => k.name);
  assert.equal(names.filter((n) => n === "DdpmGroupNorm").length, 1, names.join());
  assert.equal(names.filter((n) => n === "DdpmGroupNormGrad").length, 1, names.join());
  assert.ok(!names.includes("Sigmoid") && !names.includes("BatchMatMul"), names.join());
  tf.dispose([x, gamma, beta]);
});

Deno.test("groupNorm() and swish() fused keep tf.memory().numTensors flat over fwd+grad", async () => {
  await fusedCpu();
  const x = tf.randomNormal([2, 4, 4, 8]) as tf.Tensor4D;
  const gamma = tf.variable(tf.ones([8])) as tf.Variable<tf.Rank.R1>;
  const beta = tf.variable(tf.zeros([8])) as tf.Variable<tf.Rank.R1>;
  const ones = tf.ones([32]), zeros = tf.zeros([32]), x32 = tf.zeros([1, 2, 2, 32]);
  const step = () => {
    const loss = (xs: tf.Tensor) =>
      tf.sum(swish(groupNorm(xs as tf.Tensor4D, { gamma, beta }, { groups: 4, swish: true })));
    tf.dispose(tf.grads(loss)([x])); // dgamma and dbeta computed, never returned
    const { value, grads } = tf.variableGrads(() => loss(x) as tf.Scalar); // dx never returned
    tf.dispose([value, grads]);
    tf.dispose(
      tf.grads((xs, gs, bs) =>
        tf.sum(groupNorm(xs as tf.Tensor4D, { gamma: gs as tf.Tensor1D, beta: bs as tf.Tensor1D }))
      )([x32, ones, zeros]),
    );
  };
  step(); // first use registers the gradients
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, gamma, beta, ones, zeros, x32]);
});

Deno.test("groupNorm() fused rejects groups not dividing C with a RangeError naming it", async () => {
  await fusedCpu();
  const x = tf.zeros([1, 2, 2, 6]) as tf.Tensor4D;
  const gamma = tf.ones([6]) as tf.Tensor1D, beta = tf.zeros([6]) as tf.Tensor1D;
  for (const groups of [4, 0, 2.5]) {
    const re = new RegExp(`groups must divide the 6 channels: got ${groups}`);
    assert.throws(() => groupNorm(x, { gamma, beta }, { groups }), {
      name: "RangeError",
      message: re,
    });
    // The kernel checks too, for backends driven without the op.
    assert.throws(
      () =>
        tf.engine().runKernel("DdpmGroupNorm", { x, gamma, beta }, {
          groups,
          eps: 1e-6,
          swish: false,
        }),
      { name: "RangeError", message: re },
    );
  }
  assert.throws(() => groupNorm(x, { gamma: tf.ones([3]), beta }, { groups: 3 }), TypeError);
  tf.dispose([x, gamma, beta]);
});

Deno.test("swish() fused on cpu matches float64 x*sigmoid(x) and its derivative", async () => {
  await fusedCpu();
  const xs = [-120, -8, -1, -1e-3, 0, 0.25, 1, 3, 30, 120];
  const [y, dx] = tf.tidy(() => {
    const x = tf.tensor1d(xs);
    return [swish(x).dataSync(), tf.grad((t: tf.Tensor) => tf.sum(swish(t)))(x).dataSync()];
  });
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  assertClose(y, xs.map((v) => v * sig(v)), { rtol: 1e-6, atol: 1e-30 });
  assertClose(dx, xs.map((v) => sig(v) * (1 + v * (1 - sig(v)))), { rtol: 1e-6, atol: 1e-30 });
  const info = await tf.profile(() =>
    tf.dispose(tf.grad((t: tf.Tensor) => swish(t))(tf.ones([4])))
  );
  const names = info.kernels.map((k) => k.name);
  assert.ok(names.includes("DdpmSwish") && names.includes("DdpmSwishGrad"), names.join());
  assert.ok(!names.includes("Sigmoid"), names.join());
});

Deno.test("registerGroupNormKernels() and registerSwishKernels() are idempotent", async () => {
  await setBackend("cpu");
  const warn = console.warn;
  const warnings: unknown[] = [];
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    for (let i = 0; i < 2; i++) {
      registerGroupNormKernels("cpu");
      registerSwishKernels("cpu");
    }
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
  assert.ok(tf.getKernel("DdpmGroupNormGrad", "cpu") && tf.getKernel("DdpmSwishGrad", "cpu"));
});

Deno.test("resBlock() with the fused kernels on cpu matches the composition on wasm", async () => {
  const [n, s, ci, co, te] = [2, 4, 8, 16, 12];
  const make = () =>
    tf.tidy(() => {
      const r = (shape: number[], seed: number, scale = 0.3) =>
        tf.tensor(Float32Array.from(rand(shape.reduce((a, b) => a * b), seed, scale)), shape);
      const norm = (c: number, seed: number) => ({
        gamma: tf.add(r([c], seed), 1) as tf.Tensor1D,
        beta: r([c], seed + 1) as tf.Tensor1D,
      });
      const conv = (k: number, i: number, o: number, seed: number) => ({
        kernel: r([k, k, i, o], seed) as tf.Tensor4D,
        bias: r([o], seed + 1) as tf.Tensor1D,
      });
      const weights = {
        norm1: norm(ci, 40),
        conv1: conv(3, ci, co, 42),
        timeEmbProj: { kernel: r([te, co], 44) as tf.Tensor2D, bias: r([co], 45) as tf.Tensor1D },
        norm2: norm(co, 46),
        conv2: conv(3, co, co, 48),
        convShortcut: conv(1, ci, co, 50),
      };
      const x = r([n, s, s, ci], 52, 2) as tf.Tensor4D, temb = r([n, te], 53) as tf.Tensor2D;
      const dx = tf.grad((xs: tf.Tensor) =>
        tf.sum(resBlock(xs as tf.Tensor4D, temb, weights, { groups: 4 }))
      )(x);
      return [resBlock(x, temb, weights, { groups: 4 }).dataSync(), dx.dataSync()];
    });
  await fusedCpu();
  const [y, dx] = make();
  await setBackend("wasm");
  const [yRef, dxRef] = make();
  assertClose(y, yRef, { rtol: 1e-4, atol: 1e-4 * maxAbs(yRef) });
  assertClose(dx, dxRef, { rtol: 1e-4, atol: 1e-4 * maxAbs(dxRef) });
});

Deno.test("group-norm backward from the saved output matches the exp form within 1e-5", () => {
  // z spans [-30, 30] with exact zeros and values near the switch between the two forms.
  const [n, hw, c, groups] = [2, 64, 8, 2];
  const r = mulberry32(7);
  const x = Float32Array.from(
    { length: n * hw * c },
    (_, i) => i % 17 === 0 ? 0 : (r() * 2 - 1) * (i % 5 === 0 ? 0.06 : 3),
  );
  const gamma = Float32Array.from({ length: c }, (_, i) => 1 + i);
  const beta = new Float32Array(c);
  const dy = Float32Array.from({ length: x.length }, () => r() * 2 - 1);
  const d = { n, hw, c, groups };
  const y = _groupNormForward(x, gamma, beta, d, { eps: EPS, swish: true });
  const viaExp = _groupNormBackward(dy, x, gamma, beta, d, { eps: EPS, swish: true });
  const viaY = _groupNormBackward(dy, x, gamma, beta, d, { eps: EPS, swish: true, y });
  const scale = Math.max(...viaExp.dx.map(Math.abs));
  assertClose(viaY.dx, viaExp.dx, { rtol: 1e-5, atol: 1e-5 * scale, msg: "dx" });
  assertClose(viaY.dgamma, viaExp.dgamma, { rtol: 1e-5, atol: 1e-5, msg: "dgamma" });
  assertClose(viaY.dbeta, viaExp.dbeta, { rtol: 1e-5, atol: 1e-5, msg: "dbeta" });
});

Deno.test("group statistics are remembered per array and settings, never across them", () => {
  const d = { n: 2, hw: 4, c: 4, groups: 2 };
  const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i));
  const first = _groupStatsOfTensor(x, d, EPS);
  assert.equal(_groupStatsOfTensor(x, d, EPS).mean, first.mean, "the second call hits");
  const otherEps = _groupStatsOfTensor(x, d, 0.5);
  assert.ok(otherEps.rstd[0] < first.rstd[0], "another eps is computed afresh");
  const copy = _groupStatsOfTensor(x.slice(), { ...d, groups: 4 }, EPS);
  assert.equal(copy.mean.length, 8, "another array and grouping is computed afresh");
});
