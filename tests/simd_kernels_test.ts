// The WebAssembly SIMD kernels (src/backends/cpu/simd/): each checked-in binary is what its
// text compiles to; group norm's passes match a float64 computation on the host; Adam, the EMA,
// column sums and the elementwise ops equal the JavaScript loops bit for bit.
//
// Tolerances: the SIMD passes compute each value in float32 from float32 inputs (5-8 roundings
// of 2^-24 each, so under 1e-6 relative to the terms' magnitude) and sum in float64; the
// statistics pass subtracts and squares in float64 and matches to 1e-12.
import { mulberry32 } from "../src/random.ts";
import {
  _channelSumsSimd,
  _gradApplySimd,
  _gradSumsSimd,
  _simdGroupNormAvailable,
} from "../src/backends/cpu/simd/_group_norm_simd.ts";
import { _useSimdKernels } from "../src/backends/cpu/simd/_simd_module.ts";
import { _adamSimd, _emaSimd } from "../src/backends/cpu/simd/_optimizer_simd.ts";
import { _adamInto, _adamScalars, _emaInto } from "../src/backends/cpu/fused/_optimizer_math.ts";
import { _sumMiddle } from "../src/backends/cpu/_reduce_block.ts";
import { _columnSumsSimd } from "../src/backends/cpu/simd/_reduce_simd.ts";
import { _binarySameSimd } from "../src/backends/cpu/simd/_elementwise_simd.ts";
import { _RANGE_KERNELS, _SAME_SHAPE_OPS } from "../src/backends/cpu/_range_kernels.ts";
import { _groupNormBackward } from "../src/backends/cpu/fused/_group_norm_backward.ts";
import { _groupStats } from "../src/backends/cpu/fused/_group_norm_stats.ts";
import { compileWat, generatedName, SIMD_DIR, WASM_SOURCES } from "../tools/build_wasm.ts";
import { assert, assertClose } from "./_assert.ts";

const dims = { n: 3, hw: 700, c: 12 }; // 700 pixels: several blocks at 12 channels
const len = dims.n * dims.hw * dims.c, nc = dims.n * dims.c;

function randoms(n: number, seed: number, scale = 1, offset = 0): Float64Array {
  const rand = mulberry32(seed);
  return Float64Array.from({ length: n }, () => offset + (rand() * 2 - 1) * scale);
}
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const peak = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

for (const [constName, watName] of Object.entries(WASM_SOURCES)) {
  Deno.test(`the checked-in SIMD binary of ${watName} is what its text compiles to`, async () => {
    const text = await Deno.readTextFile(new URL(watName, SIMD_DIR));
    const fresh = await compileWat(watName, text);
    const generated = await import(new URL(generatedName(watName), SIMD_DIR).href);
    const shipped = Uint8Array.from(atob(generated[constName]), (ch) => ch.charCodeAt(0));
    assert.deepEqual(shipped, fresh, `${generatedName(watName)} is stale: deno task build:wasm`);
  });
}

Deno.test("SIMD group norm runs in Deno for channel counts divisible by 4 only", () => {
  assert.ok(_simdGroupNormAvailable(12));
  assert.ok(!_simdGroupNormAvailable(6));
  const x = new Float32Array(2 * 6), shift = new Float64Array(6);
  const d = { n: 1, hw: 2, c: 6 };
  assert.ok(!_channelSumsSimd(x, shift, new Float64Array(6), new Float64Array(6), d, 0, 2, 0));
  const was = _useSimdKernels(false);
  assert.ok(!_simdGroupNormAvailable(12));
  _useSimdKernels(was);
});

Deno.test("SIMD channel sums equal float64 sums within 1e-12, at any pixel range and part", () => {
  const { n, hw, c } = dims;
  const x = f32(randoms(len, 1, 3, 50)); // a large mean: the shift must do its job
  const shift = Float64Array.from({ length: nc }, (_, i) => x[Math.floor(i / c) * hw * c + i % c]);
  const lo = 13, hi = 611, part = 1;
  const sum = new Float64Array(2 * nc), sumSq = new Float64Array(2 * nc);
  assert.ok(_channelSumsSimd(x, shift, sum, sumSq, dims, lo, hi, part));
  const want = new Float64Array(2 * nc), wantSq = new Float64Array(2 * nc);
  for (let b = 0; b < n; b++) {
    for (let p = lo; p < hi; p++) {
      for (let ch = 0; ch < c; ch++) {
        const v = x[(b * hw + p) * c + ch] - shift[b * c + ch];
        want[nc + b * c + ch] += v;
        wantSq[nc + b * c + ch] += v * v;
      }
    }
  }
  assertClose(sum, want, { rtol: 1e-12, atol: 1e-12 * peak(want), msg: "sum" });
  assertClose(sumSq, wantSq, { rtol: 1e-12, atol: 0, msg: "sumSq" });
});

/** The backward's inputs, with a quarter of the pre-activations inside the series' range. */
function backwardCase(mean: number) {
  const { n, hw, c } = dims;
  const x64 = randoms(len, 2, 2, mean), dy = f32(randoms(len, 3));
  const x = f32(x64);
  const gamma = f32(randoms(c, 4, 0.3, 1)), beta = f32(randoms(c, 5, 0.3));
  const r = randoms(nc, 6, 0.4, 1), mu = randoms(nc, 7, 0.2, mean);
  const z = new Float64Array(len), y = new Float32Array(len);
  for (let b = 0; b < n; b++) {
    for (let i = b * hw * c; i < (b + 1) * hw * c; i++) {
      const ch = i % c, k = b * c + ch;
      // Every fourth value lands at |z| <= 0.05, where sigmoid comes from its series.
      if (i % 4 === 0) x[i] = Math.fround(mu[k] + (0.04 * dy[i] - beta[ch]) / (gamma[ch] * r[k]));
      z[i] = (x[i] - mu[k]) * r[k] * gamma[ch] + beta[ch];
      y[i] = z[i] * sigmoid(z[i]);
    }
  }
  return { x, dy, y, z, gamma, beta, r, mu };
}

for (const mean of [0.3, 100]) {
  Deno.test(`SIMD backward passes match float64 within 1e-5 (inputs of mean ${mean})`, () => {
    const { n, hw, c } = dims;
    const t = backwardCase(mean);
    const small = t.z.filter((v) => Math.abs(v) <= 0.05).length;
    assert.ok(small > len / 5, `only ${small} pre-activations near zero`);
    const dx = new Float32Array(len), sumDz = new Float64Array(nc), sumDzXh = new Float64Array(nc);
    const inp = { dy: t.dy, x: t.x, gamma: t.gamma, beta: t.beta, y: t.y, swish: true };
    assert.ok(_gradSumsSimd(inp, t.r, t.mu, dx, sumDz, sumDzXh, dims, 0, hw, 0));
    const dz = new Float64Array(len), wantDz = new Float64Array(nc), wantXh = new Float64Array(nc);
    for (let i = 0; i < len; i++) {
      const b = Math.floor(i / (hw * c)), k = b * c + i % c;
      const s = sigmoid(t.z[i]);
      dz[i] = t.dy[i] * s * (1 + t.z[i] * (1 - s));
      wantDz[k] += dz[i];
      wantXh[k] += dz[i] * (t.x[i] - t.mu[k]) * t.r[k];
    }
    assertClose(dx, dz, { rtol: 1e-5, atol: 1e-6 * peak(dz), msg: "dz" });
    assertClose(sumDz, wantDz, { rtol: 1e-5, atol: 1e-6 * peak(wantDz), msg: "sum dz" });
    assertClose(sumDzXh, wantXh, { rtol: 1e-5, atol: 1e-6 * peak(wantXh), msg: "sum dz xh" });

    const coef = { a: randoms(nc, 8), bx: randoms(nc, 9), mu: t.mu, d1: randoms(nc, 10) };
    const dzIn = dx.slice();
    assert.ok(_gradApplySimd(t.x, dx, coef, dims, 0, hw));
    const want = Float64Array.from(dzIn, (v, i) => {
      const k = Math.floor(i / (hw * c)) * c + i % c;
      return coef.a[k] * v + coef.bx[k] * (t.x[i] - t.mu[k]) + coef.d1[k];
    });
    assertClose(dx, want, { rtol: 1e-5, atol: 1e-6 * peak(want), msg: "dx" });
    assert.equal(n, 3);
  });
}

Deno.test("group-norm backward with SIMD passes equals the JavaScript loops within 1e-5", () => {
  const d = { n: 2, hw: 300, c: 16, groups: 4 };
  const size = d.n * d.hw * d.c;
  const x = f32(randoms(size, 11, 2, 5)), dy = f32(randoms(size, 12));
  const gamma = f32(randoms(d.c, 13, 0.3, 1)), beta = f32(randoms(d.c, 14, 0.3));
  const run = (simd: boolean) => {
    const was = _useSimdKernels(simd);
    try {
      const stats = _groupStats(x, d, 1e-6);
      return {
        stats,
        grads: _groupNormBackward(dy, x, gamma, beta, d, { eps: 1e-6, swish: false }),
      };
    } finally {
      _useSimdKernels(was);
    }
  };
  const js = run(false), simd = run(true);
  assertClose(simd.stats.mean, js.stats.mean, { rtol: 1e-12, msg: "mean" });
  assertClose(simd.stats.rstd, js.stats.rstd, { rtol: 1e-12, msg: "rstd" });
  const scale = peak(js.grads.dx);
  assertClose(simd.grads.dx, js.grads.dx, { rtol: 1e-5, atol: 1e-5 * scale, msg: "dx" });
  assertClose(simd.grads.dgamma, js.grads.dgamma, { rtol: 1e-5, atol: 1e-5, msg: "dgamma" });
  assertClose(simd.grads.dbeta, js.grads.dbeta, { rtol: 1e-5, atol: 1e-5, msg: "dbeta" });
});

Deno.test("SIMD Adam and EMA equal the JavaScript loops bit for bit, tail included", () => {
  const n = 20_003, lo = 5, hi = 19_998; // blocks of 8192, then a tail of 1
  const w = f32(randoms(n, 21)), g = f32(randoms(n, 22, 3)), m = f32(randoms(n, 23, 0.1));
  const v = f32(randoms(n, 24, 0.01, 0.01));
  const attrs = { gradScale: 0.7, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, stepSize: 2e-4 };
  const run = (simd: boolean) => {
    const was = _useSimdKernels(simd);
    try {
      const out = { w: w.slice(), m: m.slice(), v: v.slice() }; // in place, as the kernels run
      _adamInto(out.w, g, out.m, out.v, attrs, out, lo, hi);
      const e = m.slice();
      _emaInto(e, w, 0.9999, e, lo, hi);
      return { ...out, e };
    } finally {
      _useSimdKernels(was);
    }
  };
  const js = run(false), simd = run(true);
  for (const key of ["w", "m", "v", "e"] as const) {
    assert.deepEqual(simd[key], js[key], key);
    assert.notDeepEqual(
      simd[key].subarray(lo, hi),
      (key === "e" ? m : { w, m, v }[key]).subarray(lo, hi),
    );
  }
  // The SIMD kernels took every whole group of four, leaving the loops the rest.
  const out = { w: w.slice(), m: m.slice(), v: v.slice() };
  assert.equal(_adamSimd(w, g, m, v, _adamScalars(attrs), out, lo, hi), hi - (hi - lo) % 4);
  const [decay, keep] = [Math.fround(0.99), Math.fround(1 - 0.99)];
  assert.equal(_emaSimd(m, w, decay, keep, m.slice(), lo, hi), hi - (hi - lo) % 4);
});

Deno.test("SIMD column sums equal the float64 loop bit for bit", () => {
  // [outer, mid, inner]: several blocks of rows, one row, and a width the kernel declines.
  for (const [outer, mid, inner] of [[3, 3000, 20], [2, 1, 8], [2, 50, 6]]) {
    const x = f32(randoms(outer * mid * inner, outer + mid + inner, 10, 1));
    const run = (simd: boolean) => {
      const was = _useSimdKernels(simd);
      try {
        return _sumMiddle(x, { outer, mid, inner }, 3);
      } finally {
        _useSimdKernels(was);
      }
    };
    const js = run(false), simd = run(true);
    assert.deepEqual(simd, js, `[${outer}, ${mid}, ${inner}]`);
    const want = Float64Array.from({ length: outer * inner }, (_, j) => {
      const o = Math.floor(j / inner), i = j % inner;
      let s = 0;
      for (let m = 0; m < mid; m++) s += x[(o * mid + m) * inner + i];
      return s / 3;
    });
    assertClose(simd, want, { rtol: 2 ** -23, msg: "float64 sums" });
  }
  // It runs for widths divisible by 4 only, adding into what the accumulator holds.
  const acc = Float64Array.of(1, 2, 3, 4);
  assert.ok(_columnSumsSimd(Float32Array.of(1, 1, 1, 1, 2, 2, 2, 2), 0, 2, 4, acc));
  assert.deepEqual([...acc], [4, 5, 6, 7]);
  assert.ok(!_columnSumsSimd(new Float32Array(6), 0, 1, 6, new Float64Array(6)));
});

Deno.test("SIMD elementwise ops equal the loops bit for bit, NaN, infinities, -0 and subnormals included", () => {
  const n = 1003, lo = 1, hi = 1002;
  const special = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.4e38, 1, -1];
  const a = f32(randoms(n, 31, 5)), b = f32(randoms(n, 32, 5));
  for (let i = 0; i < special.length ** 2; i++) {
    a[i] = special[i % special.length];
    b[i] = special[Math.floor(i / special.length)];
  }
  for (const [index, op] of _SAME_SHAPE_OPS.entries()) {
    const run = (simd: boolean) => {
      const was = _useSimdKernels(simd);
      try {
        const out = new Float32Array(n);
        _RANGE_KERNELS.binarySame([a, b, out], [index], lo, hi);
        return out;
      } finally {
        _useSimdKernels(was);
      }
    };
    const js = run(false), simd = run(true);
    // Compared as bits, so that -0 differs from +0; a NaN only as a NaN, since V8's Math.max
    // and Math.min return one with the sign bit set and WebAssembly's the canonical one.
    const bits = (x: Float32Array) =>
      Array.from(new Uint32Array(x.buffer), (u, i) => x[i] !== x[i] ? "NaN" : u);
    assert.deepEqual(bits(simd), bits(js), op);
    const from = _binarySameSimd(op, a, b, new Float32Array(n), lo, hi);
    assert.equal(from, op === "SquaredDifference" ? lo : hi - (hi - lo) % 4, `${op} ran`);
  }
});
