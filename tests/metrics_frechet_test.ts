// The Frechet distance and tr sqrt(S1 S2) in float64 against closed forms and against two
// independent algorithms (Jacobi eigen-decompositions; Denman-Beavers on the product).
import { assert, assertNear } from "./_assert.ts";
import {
  denmanBeaversSqrt,
  jacobiEigen,
  matmul,
  randomOrthogonal,
  traceSqrtByJacobi,
  withEigenvalues,
} from "./_linalg_reference.ts";
import { frechetDistance } from "../src/metrics/frechet_distance.ts";
import { traceSqrtProduct } from "../src/metrics/trace_sqrt_product.ts";
import { _symmetricEigenvalues } from "../src/metrics/_symmetric_eigenvalues.ts";
import { mulberry32 } from "../src/random.ts";

// Pure float64 host code: the onednn pass would only repeat it.
const ignore = Deno.env.get("DDPM_TEST_BACKEND") === "onednn";

function randomSpd(n: number, seed: number, logCond = 2): Float64Array {
  const rand = mulberry32(seed);
  const values = Array.from({ length: n }, (_, i) => 10 ** (-logCond * i / Math.max(1, n - 1)));
  return withEigenvalues(randomOrthogonal(n, rand), values, n);
}

function trace(s: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += s[i * n + i];
  return t;
}

Deno.test({
  name: "symmetric eigenvalues match cyclic Jacobi within 1e-12 of the norm, repeated ones too",
  ignore,
  fn() {
    const rand = mulberry32(3);
    const n = 60;
    const cases: Float64Array[] = [];
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rand() - 0.5;
    }
    cases.push(a);
    // Eigenvalues 1, 1, 1, 2, 2, 3, ...: deflation and equal shifts.
    cases.push(
      withEigenvalues(
        randomOrthogonal(n, rand),
        Array.from({ length: n }, (_, i) => 1 + Math.floor(i / 3)),
        n,
      ),
    );
    // Already diagonal: every Householder column is zero.
    const d = new Float64Array(n * n);
    for (let i = 0; i < n; i++) d[i * n + i] = (i * 7) % 11 - 5;
    cases.push(d);
    for (const m of cases) {
      const got = _symmetricEigenvalues(m, n);
      const want = jacobiEigen(m, n).values.sort();
      const norm = Math.max(...want.map(Math.abs));
      for (let i = 0; i < n; i++) assertNear(got[i], want[i], 1e-12 * norm, `eigenvalue ${i}`);
    }
    assert.deepEqual([..._symmetricEigenvalues(new Float64Array([5]), 1)], [5]);
    const two = _symmetricEigenvalues(new Float64Array([2, 1, 1, 2]), 2);
    assertNear(two[0], 1, 1e-15);
    assertNear(two[1], 3, 1e-15);
  },
});

Deno.test({
  name: "frechetDistance() of identical sets is 0 and of shifted means is the squared shift",
  ignore,
  fn() {
    const n = 24;
    const sigma = randomSpd(n, 5, 4);
    const mu = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const scale = trace(sigma, n);
    assertNear(frechetDistance({ mu, sigma }, { mu, sigma }), 0, 1e-12 * scale, "identical");
    const shift = Float64Array.from({ length: n }, (_, i) => 0.1 * ((i % 5) - 2));
    const moved = mu.map((m, i) => m + shift[i]);
    const sq = shift.reduce((s, x) => s + x * x, 0);
    assertNear(frechetDistance({ mu, sigma }, { mu: moved, sigma }), sq, 1e-12 * scale, "shifted");
  },
});

Deno.test({
  name: "frechetDistance() of diagonal covariances is sum (sqrt a - sqrt b)^2 + |mu1 - mu2|^2",
  ignore,
  fn() {
    const n = 30;
    const a = Float64Array.from({ length: n }, (_, i) => 0.5 + i);
    const b = Float64Array.from({ length: n }, (_, i) => 10 ** (-i / 5));
    const diag = (v: Float64Array) => {
      const s = new Float64Array(n * n);
      v.forEach((x, i) => (s[i * n + i] = x));
      return s;
    };
    const mu1 = new Float64Array(n).fill(1), mu2 = new Float64Array(n).fill(-1);
    let want = 4 * n;
    for (let i = 0; i < n; i++) want += (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
    const got = frechetDistance({ mu: mu1, sigma: diag(a) }, { mu: mu2, sigma: diag(b) });
    assertNear(got, want, 1e-12 * want);
  },
});

Deno.test({
  name:
    "traceSqrtProduct() of non-commuting 2x2 covariances is sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))",
  ignore,
  fn() {
    const s1 = new Float64Array([2, 0.7, 0.7, 1]);
    const s2 = new Float64Array([0.3, -0.2, -0.2, 4]);
    const p = matmul(s1, s2, 2);
    const det1 = 2 * 1 - 0.49, det2 = 0.3 * 4 - 0.04;
    const want = Math.sqrt(p[0] + p[3] + 2 * Math.sqrt(det1 * det2));
    assertNear(traceSqrtProduct(s1, s2, 2).trace, want, 1e-15 * want * 4);
  },
});

Deno.test({
  name:
    "traceSqrtProduct() on ill-conditioned covariances (cond 1e8 each) matches Jacobi within 1e-10 and Denman-Beavers within 1e-9",
  ignore,
  fn() {
    const n = 40;
    const s1 = randomSpd(n, 11, 8);
    const s2 = randomSpd(n, 12, 8);
    const got = traceSqrtProduct(s1, s2, n);
    assert.equal(got.rank, n);
    const jacobi = traceSqrtByJacobi(s1, s2, n);
    assertNear(got.trace, jacobi, 1e-10 * jacobi, "vs Jacobi");
    const db = trace(denmanBeaversSqrt(matmul(s1, s2, n), n), n);
    assertNear(got.trace, db, 1e-9 * db, "vs Denman-Beavers");
    // And the whole distance against the Jacobi route.
    const mu = new Float64Array(n);
    const want = trace(s1, n) + trace(s2, n) - 2 * jacobi;
    assertNear(frechetDistance({ mu, sigma: s1 }, { mu, sigma: s2 }), want, 1e-9 * trace(s1, n));
  },
});

Deno.test({
  name:
    "traceSqrtProduct() with a singular S1 (fewer samples than dimensions) finds its rank and matches Jacobi",
  ignore,
  fn() {
    const n = 32, samples = 12;
    const rand = mulberry32(21);
    const x = Float64Array.from({ length: samples * n }, () => rand() - 0.5);
    const mean = new Float64Array(n);
    for (let s = 0; s < samples; s++) for (let i = 0; i < n; i++) mean[i] += x[s * n + i] / samples;
    const s1 = new Float64Array(n * n);
    for (let s = 0; s < samples; s++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          s1[i * n + j] += (x[s * n + i] - mean[i]) * (x[s * n + j] - mean[j]) / (samples - 1);
        }
      }
    }
    const s2 = randomSpd(n, 22, 3);
    const got = traceSqrtProduct(s1, s2, n);
    assert.equal(got.rank, samples - 1, "rank of a covariance of 12 centred samples");
    // With S1's null space exactly zero in the reference too: otherwise each of its 21
    // directions adds sqrt(rounding) ~ 1e-9 to the reference, as it does to scipy's sqrtm.
    const want = traceSqrtByJacobi(s1, s2, n, 1e-12);
    assertNear(got.trace, want, 1e-11 * want);
    // Both singular: the product is singular, where pytorch-fid would retry with an offset.
    const both = traceSqrtProduct(s1, s1, n);
    assertNear(both.trace, trace(s1, n), 1e-9 * trace(s1, n), "tr sqrt(S S) = tr S");
  },
});

Deno.test({
  name:
    "frechetDistance() refuses mismatched sizes, asymmetric and indefinite covariances, naming the problem",
  ignore,
  fn() {
    const sigma = new Float64Array([1, 0, 0, 1]);
    const mu = new Float64Array(2);
    assert.throws(
      () => frechetDistance({ mu, sigma }, { mu: new Float64Array(3), sigma }),
      /2 and 3 dimensions/,
    );
    assert.throws(
      () => frechetDistance({ mu, sigma: new Float64Array([1, 0.5, 0, 1]) }, { mu, sigma }),
      /not symmetric/,
    );
    // Eigenvalues 3 and -1: not a covariance.
    const bad = new Float64Array([1, 2, 2, 1]);
    assert.throws(() => frechetDistance({ mu, sigma }, { mu, sigma: bad }), /imaginary part/);
    assert.throws(
      () => frechetDistance({ mu, sigma: new Float64Array([NaN, 0, 0, 1]) }, { mu, sigma }),
      /NaN/,
    );
  },
});
