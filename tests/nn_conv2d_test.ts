import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../mod.ts";
import { conv2d, type ConvPadding } from "../src/nn/mod.ts";
import { mulberry32 } from "../src/random.ts";
import { assert, assertClose } from "./_assert.ts";

type Case = { name: string; x: number[]; w: number[]; strides: number; pad: ConvPadding };

const CASES: Case[] = [
  { name: "stride 1 same", x: [2, 5, 6, 3], w: [3, 3, 3, 4], strides: 1, pad: "same" },
  { name: "stride 1 valid", x: [2, 5, 6, 3], w: [3, 3, 3, 4], strides: 1, pad: "valid" },
  { name: "stride 2 same (odd)", x: [2, 7, 5, 3], w: [3, 3, 3, 2], strides: 2, pad: "same" },
  { name: "stride 2 same (even)", x: [1, 6, 8, 2], w: [3, 3, 2, 3], strides: 2, pad: "same" },
  { name: "stride 2 valid", x: [2, 8, 7, 3], w: [3, 3, 3, 2], strides: 2, pad: "valid" },
  {
    name: "stride 2 explicit 0/1",
    x: [2, 8, 8, 2],
    w: [3, 3, 2, 3],
    strides: 2,
    pad: [[0, 1], [0, 1]],
  },
  {
    name: "stride 1 explicit wide",
    x: [1, 4, 5, 2],
    w: [2, 3, 2, 2],
    strides: 1,
    pad: [[3, 0], [
      1,
      2,
    ]],
  },
  { name: "1x1 pointwise", x: [2, 3, 4, 5], w: [1, 1, 5, 3], strides: 1, pad: "same" },
];

function rand(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => r() * 2 - 1);
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function hostPads(c: Case, ho: (h: number, k: number) => number) {
  const [, h, w] = c.x;
  const [kh, kw] = c.w;
  if (c.pad === "valid") return [0, 0, 0, 0];
  if (Array.isArray(c.pad)) return c.pad.flat();
  const th = Math.max((ho(h, kh) - 1) * c.strides + kh - h, 0);
  const tw = Math.max((ho(w, kw) - 1) * c.strides + kw - w, 0);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

/** Plain float64 cross-correlation, the definition the custom gradients must agree with. */
function hostConv(c: Case, x: Float64Array, w: Float64Array, b: Float64Array) {
  const [n, h, wd, ci] = c.x;
  const [kh, kw, , co] = c.w;
  const s = c.strides;
  const sameOut = (len: number) => Math.ceil(len / s);
  const [pt, pb, pl, pr] = hostPads(c, sameOut);
  const ho = Math.floor((h + pt + pb - kh) / s) + 1;
  const wo = Math.floor((wd + pl + pr - kw) / s) + 1;
  const y = new Float64Array(n * ho * wo * co);
  for (let b0 = 0; b0 < n; b0++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        for (let o = 0; o < co; o++) {
          let acc = b[o];
          for (let a = 0; a < kh; a++) {
            const r = i * s - pt + a;
            if (r < 0 || r >= h) continue;
            for (let q = 0; q < kw; q++) {
              const cc = j * s - pl + q;
              if (cc < 0 || cc >= wd) continue;
              for (let k = 0; k < ci; k++) {
                acc += x[((b0 * h + r) * wd + cc) * ci + k] * w[((a * kw + q) * ci + k) * co + o];
              }
            }
          }
          y[((b0 * ho + i) * wo + j) * co + o] = acc;
        }
      }
    }
  }
  return { y, shape: [n, ho, wo, co] };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Gradients of sum(conv(x, w) * r) from the custom conv2d, on the current backend. */
function customGrads(c: Case, x: Float64Array, w: Float64Array, b: Float64Array, r: Float64Array) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(Float32Array.from(x), c.x as [number, number, number, number]);
    const wt = tf.tensor4d(Float32Array.from(w), c.w as [number, number, number, number]);
    const bt = tf.tensor1d(Float32Array.from(b));
    const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => {
      const y = conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, {
        strides: c.strides,
        pad: c.pad,
        bias: bs as tf.Tensor1D,
      });
      return tf.sum(tf.mul(y, tf.tensor(Float32Array.from(r), y.shape)));
    };
    const [gx, gw, gb] = tf.grads(f)([xt, wt, bt]);
    return [gx.dataSync(), gw.dataSync(), gb.dataSync()] as Float32Array[];
  });
}

for (const c of CASES) {
  Deno.test(`conv2d() gradients match tf.grads of tf.conv2d on cpu: ${c.name}`, async () => {
    await setBackend("cpu");
    const before = tf.memory().numTensors;
    const x = rand(size(c.x), 1), w = rand(size(c.w), 2), b = rand(c.w[3], 3);
    const { y, shape } = hostConv(c, x, w, b);
    const r = rand(y.length, 4);
    const [gx, gw, gb] = customGrads(c, x, w, b, r);
    const ref = tf.tidy(() => {
      const f = (xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => {
        const yy = tf.add(
          tf.conv2d(
            xs as tf.Tensor4D,
            ws as tf.Tensor4D,
            c.strides,
            Array.isArray(c.pad) ? [[0, 0], ...c.pad, [0, 0]] : c.pad,
          ),
          bs,
        );
        assert.deepEqual(yy.shape, shape, "forward shape");
        return tf.sum(tf.mul(yy, tf.tensor(Float32Array.from(r), yy.shape)));
      };
      return tf.grads(f)([
        tf.tensor(Float32Array.from(x), c.x),
        tf.tensor(Float32Array.from(w), c.w),
        tf.tensor(Float32Array.from(b)),
      ]).map((g) => g.dataSync());
    });
    assertClose(gx, ref[0], { rtol: 1e-4, atol: 1e-5, msg: "dx" });
    assertClose(gw, ref[1], { rtol: 1e-4, atol: 1e-5, msg: "dw" });
    assertClose(gb, ref[2], { rtol: 1e-4, atol: 1e-5, msg: "db" });
    assert.equal(tf.memory().numTensors, before, "leaked tensors");
  });

  Deno.test(`conv2d() forward and gradients match float64 finite differences: ${c.name}`, async () => {
    await setBackend("cpu");
    const x = rand(size(c.x), 5), w = rand(size(c.w), 6), b = rand(c.w[3], 7);
    const { y } = hostConv(c, x, w, b);
    const r = rand(y.length, 8);
    const out = tf.tidy(() =>
      conv2d(
        tf.tensor4d(Float32Array.from(x), c.x as [number, number, number, number]),
        tf.tensor4d(Float32Array.from(w), c.w as [number, number, number, number]),
        {
          strides: c.strides,
          pad: c.pad,
          bias: tf.tensor1d(Float32Array.from(b)),
        },
      ).dataSync()
    );
    assertClose(out, y, { rtol: 1e-4, atol: 1e-5, msg: "forward" });
    const [gx, gw, gb] = customGrads(c, x, w, b, r);
    const loss = (xx: Float64Array, ww: Float64Array, bb: Float64Array) =>
      dot(hostConv(c, xx, ww, bb).y, r);
    const fd = (v: Float64Array, at: (p: Float64Array) => number) => {
      const h = 1e-3;
      return Float64Array.from(v, (_, i) => {
        const p = v.slice(), m = v.slice();
        p[i] += h;
        m[i] -= h;
        return (at(p) - at(m)) / (2 * h);
      });
    };
    const tol = { rtol: 1e-4, atol: 1e-4 };
    assertClose(gx, fd(x, (p) => loss(p, w, b)), { ...tol, msg: "dx" });
    assertClose(gw, fd(w, (p) => loss(x, p, b)), { ...tol, msg: "dw" });
    assertClose(gb, fd(b, (p) => loss(x, w, p)), { ...tol, msg: "db" });
  });
}

Deno.test("conv2d() gradients on wasm equal those on cpu", async () => {
  for (const c of CASES) {
    const x = rand(size(c.x), 9), w = rand(size(c.w), 10), b = rand(c.w[3], 11);
    const r = rand(hostConv(c, x, w, b).y.length, 12);
    await setBackend("cpu");
    const ref = customGrads(c, x, w, b, r);
    await setBackend("wasm");
    const got = customGrads(c, x, w, b, r);
    for (let i = 0; i < 3; i++) {
      assertClose(got[i], ref[i], { rtol: 1e-4, atol: 1e-5, msg: `${c.name} grad ${i}` });
    }
  }
});

Deno.test("conv2d() rejects mismatched channels and bad padding", () => {
  const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
  const w = tf.zeros([3, 3, 3, 1]) as tf.Tensor4D;
  const w2 = tf.zeros([3, 3, 2, 1]) as tf.Tensor4D;
  assert.throws(() => conv2d(x, w), TypeError);
  assert.throws(() => conv2d(x, w2, { pad: [[-1, 0], [0, 0]] }), RangeError);
  assert.throws(() => conv2d(x, w2, { strides: 0 }), RangeError);
  tf.dispose([x, w, w2]);
});
