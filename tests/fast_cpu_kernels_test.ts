// The fast cpu kernels (src/backends/cpu/fast_cpu_kernels.ts) against TF.js's own cpu kernels and
// against float64 host arithmetic written without their block algebra (per-element index
// maths). Tolerances, all from float32 rounding:
// - copies (Concat, SplitV, Slice), Max, Maximum, Minimum: exact, vs host and vs stock;
// - binary ops: bit-identical to stock; vs float64 host, rtol 6e-8 (one rounding, 2^-24);
// - Sum: bit-identical to stock (same float64 order); vs host, rtol 1.2e-7 (two ulps);
// - Mean: vs host rtol 1.2e-7; vs stock, which rounds x / n per element, rtol 1e-6.
// - MaxPool: exact; AvgPool (padding excluded from the count): vs host and stock, rtol 1e-6.
import * as tf from "@tensorflow/tfjs";
import { registerFastCpuKernels } from "../src/backends/cpu/fast_cpu_kernels.ts";
import { assert, assertClose } from "./_assert.ts";

const NAMES = [
  "Concat",
  "SplitV",
  "Slice",
  "Sum",
  "Mean",
  "Max",
  "Add",
  "Sub",
  "Multiply",
  "RealDiv",
  "SquaredDifference",
  "Maximum",
  "Minimum",
  "MaxPool",
  "AvgPool",
] as const;
type Name = typeof NAMES[number];

await tf.setBackend("cpu");
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false;

// TF.js's kernels, and a count of the calls that reach them once the fast kernels are in.
const STOCK = new Map<Name, tf.KernelConfig>();
const fallbacks = new Map<Name, number>(NAMES.map((n) => [n, 0]));
for (const name of NAMES) {
  const k = tf.getKernel(name, "cpu")!;
  STOCK.set(name, k);
  tf.unregisterKernel(name, "cpu");
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      fallbacks.set(name, fallbacks.get(name)! + 1);
      return k.kernelFunc(args);
    },
  });
}
registerFastCpuKernels("cpu");

/** `f` run on TF.js's own kernels. */
function stock<T>(f: () => T): T {
  const fast = NAMES.map((n) => tf.getKernel(n, "cpu")!);
  const swap = (configs: tf.KernelConfig[]) =>
    configs.forEach((k) => {
      tf.unregisterKernel(k.kernelName, "cpu");
      tf.registerKernel(k);
    });
  swap([...STOCK.values()]);
  try {
    return f();
  } finally {
    swap(fast);
  }
}

/** Runs `f` in a tidy, checking no tensor outlives it and how many calls fell back. */
function check(name: Name, fellBack: number, f: () => void): void {
  const before = tf.memory().numTensors, calls = fallbacks.get(name)!;
  tf.tidy(f);
  assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
  assert.equal(fallbacks.get(name)! - calls, fellBack, `${name}: calls that fell back`);
}

function rand(n: number, seed: number, awayFromZero = false): Float64Array {
  let s = seed >>> 0;
  const next = () => { // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Float64Array.from({ length: n }, () => {
    const u = next() * 2 - 1;
    return Math.fround(awayFromZero ? Math.sign(u || 1) * (0.5 + Math.abs(u)) : u * 3);
  });
}

/** A float32 tensor of `x` (float32-representable, so the kernels see exactly the host's data). */
const f32 = (x: Float64Array, shape?: number[]) => tf.tensor(Float32Array.from(x), shape);
const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
const strides = (shape: readonly number[]) => shape.map((_, i) => size(shape.slice(i + 1)));
/** The coordinates of flat index `i` in `shape`. */
const coords = (i: number, shape: readonly number[]) =>
  strides(shape).map((s, d) => Math.floor(i / s) % shape[d]);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

// ---------------------------------------------------------------------------------- binary

const HOST_OPS: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Multiply: (x, y) => x * y,
  RealDiv: (x, y) => x / y,
  SquaredDifference: (x, y) => (x - y) ** 2,
  Maximum: (x, y) => Math.max(x, y),
  Minimum: (x, y) => Math.min(x, y),
};
const TF_OPS: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  Add: tf.add,
  Sub: tf.sub,
  Multiply: tf.mul,
  RealDiv: tf.div,
  SquaredDifference: tf.squaredDifference,
  Maximum: tf.maximum,
  Minimum: tf.minimum,
};

/** Float64 `op(a, b)` with numpy broadcasting, one element at a time. */
function hostBinary(
  op: (x: number, y: number) => number,
  a: Float64Array,
  aShape: number[],
  b: Float64Array,
  bShape: number[],
): { values: Float64Array; shape: number[] } {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const [ap, bp] = [pad(aShape), pad(bShape)];
  const shape = ap.map((d, i) => Math.max(d, bp[i]));
  const at = (c: number[], s: number[]) =>
    c.reduce((p, x, d) => p + (s[d] === 1 ? 0 : x) * strides(s)[d], 0);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const c = coords(i, shape);
    out[i] = op(a[at(c, ap)], b[at(c, bp)]);
  }
  return { values: out, shape };
}

const BROADCASTS: [number[], number[]][] = [
  [[2, 3, 5, 7], [2, 3, 5, 7]], // same shape
  [[2, 3, 5, 7], []], // scalar
  [[2, 3, 5, 7], [1]], // size 1
  [[2, 3, 5, 7], [7]], // bias over channels, NHWC + [C]
  [[2, 3, 5, 7], [1, 1, 1, 7]],
  [[2, 3, 5, 7], [2, 1, 1, 7]], // per sample and channel, [N, 1, 1, C]
  [[2, 3, 5, 7], [2, 1, 1, 1]], // per sample, [N, 1, 1, 1]
  [[3, 1, 5], [1, 1, 5]], // size-1 dim in the full operand
  [[4, 1, 6], [4, 1, 1]],
  [[1, 3], [3]], // the same values under different ranks
  [[9], [9]],
  [[2, 3, 4], [2, 1, 4]],
];

Deno.test("binary kernels match stock bit for bit and float64 within 6e-8, both orders", () => {
  for (const [name, op] of Object.entries(TF_OPS)) {
    for (const [i, [s1, s2]] of BROADCASTS.entries()) {
      for (const [aShape, bShape] of [[s1, s2], [s2, s1]]) {
        const a = rand(size(aShape), 10 * i + 1), b = rand(size(bShape), 10 * i + 2, true);
        check(name as Name, 0, () => {
          const at = f32(a, aShape), bt = f32(b, bShape);
          const fast = op(at, bt);
          const host = hostBinary(HOST_OPS[name], a, aShape, b, bShape);
          const msg = `${name} ${aShape} with ${bShape}`;
          assert.deepEqual(fast.shape, host.shape, msg);
          assertClose(values(fast), host.values, { rtol: 6e-8, atol: 0, msg });
          assert.deepEqual(values(fast), values(stock(() => op(at, bt))), msg);
        });
      }
    }
  }
});

Deno.test("Maximum, Minimum and Sub keep TF.js's NaN and signed-zero results", () => {
  const a = [NaN, 1, -0, 0, 2], b = [1, NaN, 0, -0, 2];
  for (const name of ["Maximum", "Minimum", "Sub"] as const) {
    check(name, 0, () => {
      for (const [x, y] of [[a, b], [b, a]]) {
        const op = () => TF_OPS[name](tf.tensor1d(x), tf.tensor1d(y));
        assert.deepEqual(values(op()), values(stock(op)), `${name} ${x} ${y}`);
      }
    });
  }
});

Deno.test("binary kernels fall back for broadcasts on both sides, split blocks and int32", () => {
  const cases: [number[], number[]][] = [[[2, 1, 3], [1, 4, 1]], [[2, 3, 4], [1, 3, 1]]];
  for (const [aShape, bShape] of cases) {
    const a = rand(size(aShape), 3), b = rand(size(bShape), 4, true);
    check("Multiply", 1, () => {
      const fast = tf.mul(f32(a, aShape), f32(b, bShape));
      const host = hostBinary(HOST_OPS.Multiply, a, aShape, b, bShape);
      assert.deepEqual(fast.shape, host.shape);
      assertClose(values(fast), host.values, { rtol: 6e-8, atol: 0 });
    });
  }
  check("Add", 1, () => {
    const y = tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2], "int32"), tf.scalar(5, "int32"));
    assert.equal(y.dtype, "int32");
    assert.deepEqual(values(y), [6, 7, 8, 9]);
  });
});

// ------------------------------------------------------------------------------ reductions

/** Float64 reduction over `axes` (all when empty), one element at a time. */
function hostReduce(
  x: Float64Array,
  shape: number[],
  axes: number[],
  kind: "sum" | "mean" | "max",
): Float64Array {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const outShape = kept.map((d) => shape[d]);
  const out = new Float64Array(size(outShape)).fill(kind === "max" ? -Infinity : 0);
  for (let i = 0; i < x.length; i++) {
    const c = coords(i, shape);
    const o = kept.reduce((p, d, j) => p + c[d] * strides(outShape)[j], 0);
    out[o] = kind === "max" ? Math.max(out[o], x[i]) : out[o] + x[i];
  }
  const n = size(axes.map((d) => shape[d]));
  return kind === "mean" ? out.map((v) => v / n) : out;
}

const REDUCTIONS: { shape: number[]; axis: number | number[] | undefined; fast: boolean }[] = [
  { shape: [4, 5, 3, 7], axis: [0, 1, 2], fast: true }, // bias gradient
  { shape: [4, 5, 3, 7], axis: [1, 2], fast: true }, // [N, 1, 1, C] gradient
  { shape: [4, 5, 3, 7], axis: [-3, -2], fast: true },
  { shape: [4, 5, 3, 7], axis: [1, 2, 3], fast: true }, // [N, 1, 1, 1] gradient
  { shape: [4, 5, 3, 7], axis: undefined, fast: true },
  { shape: [4, 5, 3, 7], axis: -1, fast: true },
  { shape: [4, 5, 3, 7], axis: 0, fast: true },
  { shape: [4, 1, 6], axis: [0, 2], fast: true }, // adjacent once the size-1 dim is dropped
  { shape: [1, 9, 1], axis: [0, 1, 2], fast: true },
  { shape: [11], axis: 0, fast: true },
  { shape: [4, 5, 3, 7], axis: [0, 3], fast: false },
];

Deno.test("Sum, Mean and Max over adjacent axes match float64 and stock, keepDims both ways", () => {
  for (const [i, { shape, axis, fast }] of REDUCTIONS.entries()) {
    const x = rand(size(shape), 100 + i);
    const axes = axis === undefined
      ? shape.map((_, d) => d)
      : [axis].flat().map((a) => (a + shape.length) % shape.length);
    for (const keepDims of [false, true]) {
      const runs = [
        ["Sum", (t: tf.Tensor) => tf.sum(t, axis, keepDims), "sum", 1.2e-7, 0],
        ["Mean", (t: tf.Tensor) => tf.mean(t, axis, keepDims), "mean", 1.2e-7, 1e-6],
        ["Max", (t: tf.Tensor) => tf.max(t, axis, keepDims), "max", 0, 0],
      ] as const;
      for (const [name, op, kind, rtolHost, rtolStock] of runs) {
        check(name, fast ? 0 : 1, () => {
          const t = f32(x, shape);
          const y = op(t), ref = stock(() => op(t));
          const msg = `${name} ${shape} over ${axis} keepDims ${keepDims}`;
          assert.deepEqual(y.shape, ref.shape, msg);
          assertClose(values(y), hostReduce(x, shape, axes, kind), {
            rtol: rtolHost,
            atol: 1e-12,
            msg,
          });
          if (rtolStock) assertClose(values(y), values(ref), { rtol: rtolStock, atol: 1e-7, msg });
          else assert.deepEqual(values(y), values(ref), msg);
        });
      }
    }
  }
});

Deno.test("Sum of 8M float32 values accumulates in float64: within 1.2e-7 of the exact sum", () => {
  // 0.1 has no float32-exact running sum: a float32 running sum ends 5.7% off here.
  const shape = [8, 32, 32, 1024], n = size(shape), v = Math.fround(0.1);
  const x = tf.fill(shape, v);
  check("Sum", 0, () => {
    const channels = values(tf.sum(x, [0, 1, 2]));
    assertClose(channels, new Array(1024).fill(v * 8 * 32 * 32), { rtol: 1.2e-7, atol: 0 });
    assertClose(values(tf.sum(x)), [v * n], { rtol: 1.2e-7, atol: 0 });
  });
  x.dispose();
});

// ---------------------------------------------------------------------------------- copies

/** Float64 concat along `axis`, one element at a time. */
function hostConcat(parts: Float64Array[], shapes: number[][], axis: number): Float64Array {
  const outShape = shapes[0].slice();
  outShape[axis] = shapes.reduce((p, s) => p + s[axis], 0);
  const out = new Float64Array(size(outShape));
  let base = 0;
  for (const [k, part] of parts.entries()) {
    for (let i = 0; i < part.length; i++) {
      const c = coords(i, shapes[k]);
      c[axis] += base;
      out[c.reduce((p, x, d) => p + x * strides(outShape)[d], 0)] = part[i];
    }
    base += shapes[k][axis];
  }
  return out;
}

const CONCATS: { shape: number[]; widths: number[]; axis: number }[] = [
  { shape: [2, 3, 5, 4], widths: [4, 1, 7], axis: 3 },
  { shape: [2, 3, 5, 4], widths: [4, 1, 7], axis: -1 },
  { shape: [2, 3, 5, 4], widths: [2, 3], axis: 2 },
  { shape: [2, 3, 5, 4], widths: [1, 3, 2], axis: 1 },
  { shape: [2, 3, 5, 4], widths: [2, 1], axis: 0 },
  { shape: [3, 1, 2], widths: [1, 1], axis: 1 },
  { shape: [5], widths: [3, 2, 130], axis: 0 }, // runs long enough for TypedArray.set
  { shape: [2, 70], widths: [70, 65], axis: 1 },
];

Deno.test("Concat and SplitV along any axis match float64 and stock exactly", () => {
  for (const [i, { shape, widths, axis }] of CONCATS.entries()) {
    const ax = (axis + shape.length) % shape.length;
    const shapes = widths.map((w) => shape.map((d, j) => j === ax ? w : d));
    const parts = shapes.map((s, k) => rand(size(s), 200 + 10 * i + k));
    const msg = `${shapes.join(" | ")} along ${axis}`;
    check("Concat", 0, () => {
      const ts = parts.map((p, k) => f32(p, shapes[k]));
      const y = tf.concat(ts, axis);
      assert.deepEqual(values(y), Array.from(hostConcat(parts, shapes, ax)), msg);
      assert.deepEqual(values(y), values(stock(() => tf.concat(ts, axis))), msg);
    });
    check("SplitV", 0, () => {
      const x = f32(hostConcat(parts, shapes, ax)).reshape(
        shapes[0].map((d, j) => j === ax ? widths.reduce((p, w) => p + w) : d),
      );
      const ys = tf.split(x, widths, axis);
      ys.forEach((y, k) => {
        assert.deepEqual(y.shape, shapes[k], msg);
        assert.deepEqual(values(y), Array.from(parts[k]), msg);
      });
    });
  }
  check("SplitV", 0, () => {
    const x = f32(rand(3 * 6 * 5, 7), [3, 6, 5]);
    for (const [splits, axis] of [[3, 1], [[2, -1], 0], [[1, 4], -1]] as const) {
      const got = tf.split(x, splits as number | number[], axis);
      const ref = stock(() => tf.split(x, splits as number | number[], axis));
      assert.deepEqual(got.map(values), ref.map(values), `${splits} along ${axis}`);
      assert.deepEqual(got.map((t) => t.shape), ref.map((t) => t.shape));
    }
  });
});

Deno.test("Concat falls back for int32 and empty parts and still matches", () => {
  check("Concat", 1, () => {
    const y = tf.concat([tf.tensor1d([1, 2], "int32"), tf.tensor1d([3], "int32")]);
    assert.deepEqual(values(y), [1, 2, 3]);
  });
  check("Concat", 1, () => {
    const y = tf.concat([tf.zeros([2, 0]), tf.ones([2, 2])], 1);
    assert.deepEqual(values(y), [1, 1, 1, 1]);
  });
});

Deno.test("Slice copies strided blocks exactly; contiguous slices stay TF.js's views", () => {
  const shape = [3, 5, 7, 2], x = rand(size(shape), 300);
  const cases: [number[], number[], boolean][] = [
    [[1, 1, 2, 0], [2, 3, 4, 2], true],
    [[0, 2, 0, 1], [3, 2, 7, 1], true],
    [[1, 2, 0, 0], [2, 2, -1, -1], true], // -1: to the end; full trailing dims join the run
    [[1, 0, 0, 0], [1, 5, 7, 2], false], // contiguous
  ];
  for (const [begin, sz, fast] of cases) {
    check("Slice", fast ? 0 : 1, () => {
      const t = f32(x, shape);
      const y = tf.slice(t, begin, sz);
      const host = Array.from({ length: y.size }, (_, i) => {
        const c = coords(i, y.shape).map((v, d) => v + begin[d]);
        return x[c.reduce((p, v, d) => p + v * strides(shape)[d], 0)];
      });
      assert.deepEqual(values(y), host, `${begin} ${sz}`);
      assert.deepEqual(values(y), values(stock(() => tf.slice(t, begin, sz))));
    });
  }
});

Deno.test("gradients through concat and split match the stock kernels exactly", () => {
  const shapes = [[2, 3, 4, 5], [2, 3, 4, 3], [2, 3, 4, 1]];
  const inputs = shapes.map((s, k) => f32(rand(size(s), 400 + k), s));
  const w = f32(rand(2 * 3 * 4 * 9, 410), [2, 3, 4, 9]);
  const loss = (...xs: tf.Tensor[]) => {
    const y = tf.concat(xs, -1);
    const [p, q] = tf.split(tf.mul(y, w), [4, 5], 3);
    return tf.add(tf.sum(tf.square(p)), tf.sum(tf.mul(q, tf.scalar(0.5))));
  };
  const before = tf.memory().numTensors;
  const got = tf.tidy(() => tf.grads(loss)(inputs).map(values));
  const ref = tf.tidy(() => stock(() => tf.grads(loss)(inputs).map(values)));
  assert.equal(tf.memory().numTensors, before);
  got.forEach((g, k) => assert.deepEqual(g, ref[k], `input ${k}`));
  tf.dispose([...inputs, w]);
});

Deno.test("MaxPool and AvgPool match stock and a per-window host loop, padding excluded from averages", () => {
  const cases: [number[], number, number, "same" | "valid"][] = [
    [[2, 7, 9, 5], 3, 1, "same"],
    [[1, 9, 8, 4], 3, 2, "valid"],
    [[1, 8, 8, 3], 3, 2, "same"], // TF's SAME pads 0 before and 1 after here
    [[3, 5, 6, 2], 2, 2, "valid"],
  ];
  for (const [shape, k, stride, pad] of cases) {
    const [n, h, w, c] = shape;
    const values = rand(n * h * w * c, h * 31 + k);
    for (const kind of ["max", "avg"] as const) {
      const name = kind === "max" ? "MaxPool" : "AvgPool";
      const op = (x: tf.Tensor4D) => (kind === "max" ? tf.maxPool : tf.avgPool)(x, k, stride, pad);
      let fast: Float32Array = new Float32Array(), slow: Float32Array = new Float32Array();
      let outShape: number[] = [];
      check(name, 0, () => {
        const y = op(
          tf.tensor4d(Float32Array.from(values), shape as [number, number, number, number]),
        );
        outShape = y.shape;
        fast = y.dataSync() as Float32Array;
      });
      stock(
        () => (slow = op(
          tf.tensor4d(Float32Array.from(values), shape as [number, number, number, number]),
        ).dataSync() as Float32Array),
      );
      const [, oh, ow] = outShape;
      // Host loop: TF's padding (total = max((out - 1) * stride + k - in, 0), half before).
      const padTop = pad === "same" ? Math.floor(Math.max((oh - 1) * stride + k - h, 0) / 2) : 0;
      const padLeft = pad === "same" ? Math.floor(Math.max((ow - 1) * stride + k - w, 0) / 2) : 0;
      const want = new Float64Array(fast.length);
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < oh; oy++) {
          for (let ox = 0; ox < ow; ox++) {
            for (let ch = 0; ch < c; ch++) {
              let acc = kind === "max" ? -Infinity : 0, count = 0;
              for (let ky = 0; ky < k; ky++) {
                for (let kx = 0; kx < k; kx++) {
                  const y = oy * stride - padTop + ky, x = ox * stride - padLeft + kx;
                  if (y < 0 || y >= h || x < 0 || x >= w) continue;
                  const v = Math.fround(values[((b * h + y) * w + x) * c + ch]);
                  acc = kind === "max" ? Math.max(acc, v) : acc + v;
                  count++;
                }
              }
              want[((b * oh + oy) * ow + ox) * c + ch] = kind === "max" ? acc : acc / count;
            }
          }
        }
      }
      const msg = `${name} ${shape} k${k} s${stride} ${pad}`;
      if (kind === "max") {
        assert.deepEqual([...fast], [...want], msg);
        assert.deepEqual([...fast], [...slow], msg);
      } else {
        assertClose(fast, want, { rtol: 1e-6, atol: 1e-7, msg });
        assertClose(fast, slow, { rtol: 1e-6, atol: 1e-7, msg });
      }
    }
  }
});

Deno.test("registerFastCpuKernels() twice keeps the same kernels", () => {
  const first = NAMES.map((n) => tf.getKernel(n, "cpu")!.kernelFunc);
  registerFastCpuKernels("cpu");
  assert.deepEqual(NAMES.map((n) => tf.getKernel(n, "cpu")!.kernelFunc), first);
});
