import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import {
  groupNorm,
  matMul2d,
  selfAttention,
  sinusoidalEmbedding,
  swish,
  timestepEmbedding,
  upsampleNearest2x,
} from "../src/nn/mod.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose } from "./_assert.ts";
import { FAST_BACKEND } from "./_backend.ts";

function rand(n: number, seed: number, scale = 1): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

const f32 = (a: Float64Array) => Float32Array.from(a);

/** Float64 group norm over NHWC data. */
function hostGroupNorm(
  x: Float64Array,
  [n, h, w, c]: number[],
  gamma: Float64Array,
  beta: Float64Array,
  groups: number,
  eps: number,
): Float64Array {
  const y = new Float64Array(x.length);
  const cg = c / groups;
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      const idx: number[] = [];
      for (let p = 0; p < h * w; p++) {
        for (let k = 0; k < cg; k++) idx.push((b * h * w + p) * c + g * cg + k);
      }
      const mean = idx.reduce((s, i) => s + x[i], 0) / idx.length;
      const v = idx.reduce((s, i) => s + (x[i] - mean) ** 2, 0) / idx.length;
      for (const i of idx) {
        const ch = i % c;
        y[i] = (x[i] - mean) / Math.sqrt(v + eps) * gamma[ch] + beta[ch];
      }
    }
  }
  return y;
}

/** Float64 [m,k] @ [k,n] + bias. */
function hostLinear(
  a: Float64Array,
  m: number,
  k: number,
  w: Float64Array,
  n: number,
  b?: Float64Array,
) {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = b ? b[j] : 0;
      for (let q = 0; q < k; q++) s += a[i * k + q] * w[q * n + j];
      y[i * n + j] = s;
    }
  }
  return y;
}

Deno.test(`groupNorm() matches a float64 group norm on cpu and ${FAST_BACKEND}`, async () => {
  const shape = [2, 3, 4, 8];
  const x = rand(2 * 3 * 4 * 8, 1, 3).map((v, i) => v + (i % 8)); // offset per channel
  const gamma = rand(8, 2), beta = rand(8, 3);
  const want = hostGroupNorm(x, shape, gamma, beta, 4, 1e-6);
  for (const backend of ["cpu", FAST_BACKEND] as const) {
    await setBackend(backend);
    const got = tf.tidy(() =>
      groupNorm(tf.tensor4d(f32(x), shape as [number, number, number, number]), {
        gamma: tf.tensor1d(f32(gamma)),
        beta: tf.tensor1d(f32(beta)),
      }, { groups: 4, eps: 1e-6 }).dataSync()
    );
    assertClose(got, want, { rtol: 1e-4, atol: 1e-5, msg: backend });
  }
  // With swish, at a size whose affine pass runs on all threads on onednn (2^17 values).
  const big = [2, 16, 16, 256];
  const xb = rand(2 * 16 * 16 * 256, 7, 2).map((v, i) => v + (i % 256) / 64);
  const gb = rand(256, 8), bb = rand(256, 9);
  const wantBig = hostGroupNorm(xb, big, gb, bb, 32, 1e-6).map((v) => v / (1 + Math.exp(-v)));
  for (const backend of ["cpu", FAST_BACKEND] as const) {
    await setBackend(backend);
    const got = tf.tidy(() =>
      groupNorm(tf.tensor4d(f32(xb), big as [number, number, number, number]), {
        gamma: tf.tensor1d(f32(gb)),
        beta: tf.tensor1d(f32(bb)),
      }, { groups: 32, eps: 1e-6, swish: true }).dataSync()
    );
    assertClose(got, wantBig, { rtol: 1e-4, atol: 1e-5, msg: `${backend}, swish` });
  }
  assert.throws(
    () =>
      groupNorm(
        tf.zeros([1, 2, 2, 6]) as tf.Tensor4D,
        { gamma: tf.ones([6]), beta: tf.zeros([6]) },
        { groups: 4 },
      ),
    RangeError,
  );
});

Deno.test(`groupNorm() gradient on ${FAST_BACKEND} equals cpu's`, async () => {
  const shape: [number, number, number, number] = [2, 4, 4, 8];
  const x = rand(256, 4), r = rand(256, 5), gamma = rand(8, 6);
  const grad = () =>
    tf.tidy(() => {
      const g = tf.grad((xs: tf.Tensor) =>
        tf.sum(tf.mul(
          groupNorm(xs as tf.Tensor4D, { gamma: tf.tensor1d(f32(gamma)), beta: tf.zeros([8]) }, {
            groups: 2,
          }),
          tf.tensor(f32(r), shape),
        ))
      );
      return g(tf.tensor4d(f32(x), shape)).dataSync();
    });
  await setBackend("cpu");
  const want = grad();
  await setBackend(FAST_BACKEND);
  assertClose(grad(), want, { rtol: 1e-3, atol: 1e-5 });
});

Deno.test("sinusoidalEmbedding() is sin then cos with frequencies exp(-ln(1e4) i / (half - 1))", async () => {
  await setBackend("cpu");
  const ts = [0, 1, 17, 999];
  const dim = 16, half = 8;
  const want: number[] = [];
  for (const t of ts) {
    const f = Array.from({ length: half }, (_, i) => Math.exp(-Math.log(10000) * i / (half - 1)));
    want.push(...f.map((v) => Math.sin(t * v)), ...f.map((v) => Math.cos(t * v)));
  }
  const got = tf.tidy(() => sinusoidalEmbedding(tf.tensor1d(ts, "int32"), dim).dataSync());
  // float32 arguments up to 999 carry ~6e-5 absolute rounding.
  assertClose(got, want, { rtol: 0, atol: 2e-4 });
  const odd = tf.tidy(() => sinusoidalEmbedding(tf.tensor1d([3], "int32"), 9).dataSync());
  assert.equal(odd.length, 9);
  assert.equal(odd[8], 0);
});

Deno.test("timestepEmbedding() is dense, swish, dense over the sinusoids", async () => {
  await setBackend("cpu");
  const ch = 8, ts = [5, 250];
  const w1 = rand(ch * 4 * ch, 7),
    b1 = rand(4 * ch, 8),
    w2 = rand(16 * ch * ch, 9),
    b2 = rand(4 * ch, 10);
  const embT = sinusoidalEmbedding(tf.tensor1d(ts, "int32"), ch);
  const emb = Float64Array.from(embT.dataSync());
  embT.dispose();
  const h = hostLinear(emb, 2, ch, w1, 4 * ch, b1).map((v) => v / (1 + Math.exp(-v)));
  const want = hostLinear(h, 2, 4 * ch, w2, 4 * ch, b2);
  const got = tf.tidy(() =>
    timestepEmbedding(tf.tensor1d(ts, "int32"), {
      linear1: { kernel: tf.tensor2d(f32(w1), [ch, 4 * ch]), bias: tf.tensor1d(f32(b1)) },
      linear2: { kernel: tf.tensor2d(f32(w2), [4 * ch, 4 * ch]), bias: tf.tensor1d(f32(b2)) },
    }).dataSync()
  );
  assertClose(got, want, { rtol: 1e-4, atol: 1e-5 });
});

Deno.test(`selfAttention() matches a float64 single-head attention on cpu and ${FAST_BACKEND}`, async () => {
  const [n, h, w, c] = [2, 3, 2, 8];
  const hw = h * w;
  const x = rand(n * hw * c, 11, 2);
  const gamma = rand(c, 12), beta = rand(c, 13);
  const W = [14, 15, 16, 17].map((s) => rand(c * c, s));
  const B = [18, 19, 20, 21].map((s) => rand(c, s));
  const normed = hostGroupNorm(x, [n, h, w, c], gamma, beta, 2, 1e-6);
  const [q, k, v] = [0, 1, 2].map((i) => hostLinear(normed, n * hw, c, W[i], c, B[i]));
  const att = new Float64Array(n * hw * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) {
      const s = Array.from({ length: hw }, (_, j) => {
        let d = 0;
        for (let e = 0; e < c; e++) d += q[(b * hw + i) * c + e] * k[(b * hw + j) * c + e];
        return d / Math.sqrt(c);
      });
      const mx = Math.max(...s);
      const p = s.map((z) => Math.exp(z - mx));
      const z = p.reduce((a, bb) => a + bb, 0);
      for (let e = 0; e < c; e++) {
        let acc = 0;
        for (let j = 0; j < hw; j++) acc += p[j] / z * v[(b * hw + j) * c + e];
        att[(b * hw + i) * c + e] = acc;
      }
    }
  }
  const want = hostLinear(att, n * hw, c, W[3], c, B[3]).map((val, i) => val + x[i]);
  for (const backend of ["cpu", FAST_BACKEND] as const) {
    await setBackend(backend);
    const got = tf.tidy(() => {
      const lin = (i: number) => ({
        kernel: tf.tensor2d(f32(W[i]), [c, c]),
        bias: tf.tensor1d(f32(B[i])),
      });
      return selfAttention(tf.tensor4d(f32(x), [n, h, w, c]), {
        norm: { gamma: tf.tensor1d(f32(gamma)), beta: tf.tensor1d(f32(beta)) },
        q: lin(0),
        k: lin(1),
        v: lin(2),
        out: lin(3),
      }, { groups: 2, eps: 1e-6 }).dataSync();
    });
    assertClose(got, want, { rtol: 1e-4, atol: 1e-4, msg: backend });
  }
});

Deno.test("matMul2d() and its gradients match a float64 product", async () => {
  await setBackend(FAST_BACKEND);
  const a = rand(5 * 7, 22), b = rand(7 * 3, 23), r = rand(5 * 3, 24);
  const want = hostLinear(a, 5, 7, b, 3);
  const [y, ga, gb] = tf.tidy(() => {
    const at = tf.tensor2d(f32(a), [5, 7]), bt = tf.tensor2d(f32(b), [7, 3]);
    const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) =>
      tf.sum(tf.mul(matMul2d(p as tf.Tensor2D, q as tf.Tensor2D), tf.tensor2d(f32(r), [5, 3])))
    )([at, bt]);
    return [matMul2d(at, bt).dataSync(), ga.dataSync(), gb.dataSync()];
  });
  assertClose(y, want, { rtol: 1e-5, atol: 1e-6 });
  // d/da sum(r * ab) = r b^T; d/db = a^T r.
  const bT = Float64Array.from({ length: 21 }, (_, i) => b[(i % 7) * 3 + Math.floor(i / 7)]);
  const aT = Float64Array.from({ length: 35 }, (_, i) => a[(i % 5) * 7 + Math.floor(i / 5)]);
  assertClose(ga, hostLinear(r, 5, 3, bT, 7), { rtol: 1e-5, atol: 1e-6 });
  assertClose(gb, hostLinear(aT, 7, 5, r, 3), { rtol: 1e-5, atol: 1e-6 });
});

Deno.test("swish() and upsampleNearest2x() compute x*sigmoid(x) and 2x2 copies", async () => {
  await setBackend("cpu");
  const x = [-3, -0.5, 0, 0.5, 3];
  const got = tf.tidy(() => swish(tf.tensor1d(x)).dataSync());
  assertClose(got, x.map((v) => v / (1 + Math.exp(-v))), { rtol: 1e-6, atol: 1e-7 });
  const up = tf.tidy(() => upsampleNearest2x(tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2])));
  assert.deepEqual(up.shape, [1, 4, 4, 2]);
  const u = up.dataSync();
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      for (let c = 0; c < 2; c++) {
        const src = ((Math.floor(i / 2) * 2 + Math.floor(j / 2)) * 2 + c) + 1;
        assert.equal(u[(i * 4 + j) * 2 + c], src);
      }
    }
  }
  up.dispose();
});
