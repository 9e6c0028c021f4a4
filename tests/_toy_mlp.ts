// A small MLP noise predictor and a 2-D dataset for the end-to-end scheduler test: points are
// [batch, 1, 1, 2] "images" (one pixel, two channels) so the schedulers see NHWC tensors.
import * as tf from "@tensorflow/tfjs";
import type { NoiseScheduler } from "../src/diffusion/noise_scheduler.ts";
import { deriveSeed, mulberry32 } from "../src/random.ts";

/** Eight Gaussian modes evenly spaced on a circle. */
export const RING = { modes: 8, radius: 0.7, std: 0.05 } as const;

/** Centres of the ring's modes. */
export function modeCentres(): [number, number][] {
  return Array.from({ length: RING.modes }, (_, k) => {
    const a = (2 * Math.PI * k) / RING.modes;
    return [RING.radius * Math.cos(a), RING.radius * Math.sin(a)];
  });
}

/** n points from the ring mixture, flat [x0, y0, x1, y1, ...]. */
export function sampleRing(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const centres = modeCentres();
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const [cx, cy] = centres[Math.floor(rand() * RING.modes)];
    // Box-Muller: two independent normals from two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const a = 2 * Math.PI * rand();
    out[2 * i] = cx + RING.std * r * Math.cos(a);
    out[2 * i + 1] = cy + RING.std * r * Math.sin(a);
  }
  return out;
}

/** Angular frequencies of the Fourier features of x. */
const FOURIER = [1, 2, 4, 8, 16, 32].map((f) => f * Math.PI);

/**
 * a @ w whose gradients use explicit transposes: tfjs-wasm runs matMul with transposeA or
 * transposeB (what the built-in gradient uses) about 8x slower than a transpose plus a plain
 * matMul.
 */
const fastMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, w]);
  return {
    value: tf.matMul(a, w),
    gradFunc: (dy, [sa, sw]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)),
      tf.matMul(tf.transpose(sa), dy as tf.Tensor2D),
    ],
  };
}) as (a: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * An MLP eps(x, t): two SiLU layers of `hidden` units, each adding a projection of a
 * sinusoidal embedding of t (looked up in a host table built once), then a linear head.
 */
export class ToyMlp {
  readonly variables: tf.Variable[];
  readonly #embTable: Float32Array;
  readonly #embDim: number;
  /** When true, the output is negated: a model with the wrong sign of eps. */
  flipSign = false;

  constructor(seed: number, numTrainTimesteps: number, hidden = 128, embDim = 32) {
    const half = embDim / 2;
    const table = new Float32Array(numTrainTimesteps * embDim);
    for (let t = 0; t < numTrainTimesteps; t++) {
      for (let i = 0; i < half; i++) {
        const arg = t * Math.exp((-Math.log(10000) * i) / half);
        table[t * embDim + i] = Math.sin(arg);
        table[t * embDim + half + i] = Math.cos(arg);
      }
    }
    this.#embTable = table;
    this.#embDim = embDim;
    const shapes: [number, number][] = [[2 + 4 * FOURIER.length, hidden], [embDim, hidden], [
      hidden,
      hidden,
    ], [
      embDim,
      hidden,
    ], [hidden, 2]];
    this.variables = [];
    shapes.forEach(([fanIn, fanOut], l) => {
      const w = tf.randomNormal([fanIn, fanOut], 0, 1 / Math.sqrt(fanIn), "float32", seed + l);
      this.variables.push(tf.variable(w));
      w.dispose();
    });
    for (const n of [hidden, hidden, 2]) {
      this.variables.push(tf.tidy(() => tf.variable(tf.zeros([n]))));
    }
  }

  /** eps-hat for points x [B, 1, 1, 2] at int32 timesteps t [B]. */
  predict(x: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => {
      const [w1, u1, w2, u2, w3, b1, b2, b3] = this.variables;
      const silu = (h: tf.Tensor2D): tf.Tensor2D => tf.mul(h, tf.sigmoid(h));
      // The lookup runs on the host: tfjs-wasm's gather is slow for this table.
      const d = this.#embDim;
      const ts = t.dataSync();
      const rows = new Float32Array(ts.length * d);
      ts.forEach((tv, i) => rows.set(this.#embTable.subarray(tv * d, (tv + 1) * d), i * d));
      const emb = tf.tensor2d(rows, [ts.length, d]);
      const x2 = tf.reshape(x, [-1, 2]) as tf.Tensor2D;
      // Fourier features of x let a small MLP draw the sharp, mode-centred eps of small t.
      const args = tf.reshape(
        tf.mul(tf.expandDims(x2, 2), tf.tensor1d(FOURIER)),
        [-1, 2 * FOURIER.length],
      ) as tf.Tensor2D;
      const feats = tf.concat([x2, tf.sin(args), tf.cos(args)], 1);
      const h1 = silu(
        tf.add(
          tf.add(fastMatMul(feats, w1 as tf.Tensor2D), fastMatMul(emb, u1 as tf.Tensor2D)),
          b1,
        ),
      );
      const h2 = silu(
        tf.add(tf.add(fastMatMul(h1, w2 as tf.Tensor2D), fastMatMul(emb, u2 as tf.Tensor2D)), b2),
      );
      const out = tf.reshape(tf.add(fastMatMul(h2, w3 as tf.Tensor2D), b3), x.shape) as tf.Tensor4D;
      return this.flipSign ? tf.neg(out) : out;
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/**
 * Trains `model` on the ring with L_simple (Ho et al. 2020, Algorithm 1), Adam with the
 * learning rate decaying linearly to 5% of `lr`.
 */
export function trainToy(
  model: ToyMlp,
  scheduler: NoiseScheduler,
  opts: { steps: number; batch: number; lr: number; seed: number },
): number[] {
  const optimizer = tf.train.adam(opts.lr);
  // tfjs' Adam reads this field on every update, so a schedule can set it between steps.
  const lrField = optimizer as unknown as { learningRate: number };
  const rand = mulberry32(deriveSeed(opts.seed, 1));
  const T = scheduler.config.numTrainTimesteps;
  const losses: number[] = [];
  for (let step = 0; step < opts.steps; step++) {
    lrField.learningRate = opts.lr * (1 - 0.95 * step / opts.steps);
    const x0 = tf.tensor4d(sampleRing(opts.batch, deriveSeed(opts.seed, 2, step)), [
      opts.batch,
      1,
      1,
      2,
    ]);
    const t = tf.tensor1d(Int32Array.from({ length: opts.batch }, () => Math.floor(rand() * T)));
    const noise = tf.randomNormal(x0.shape, 0, 1, "float32", deriveSeed(opts.seed, 3, step));
    const xt = scheduler.addNoise(x0, noise as tf.Tensor4D, t);
    const loss = optimizer.minimize(
      () => tf.mean(tf.square(tf.sub(model.predict(xt, t), noise))) as tf.Scalar,
      true,
      model.variables,
    );
    if (step % 100 === 0 || step === opts.steps - 1) losses.push(loss!.dataSync()[0]);
    tf.dispose([x0, t, noise, xt, loss!]);
  }
  optimizer.dispose();
  return losses;
}

/** Runs the reverse process over `scheduler.timesteps` from seeded Gaussian noise; flat points. */
export function sampleToy(
  model: ToyMlp,
  scheduler: NoiseScheduler,
  opts: { n: number; seed: number; eta?: number },
): Float32Array {
  let x = tf.randomNormal([opts.n, 1, 1, 2], 0, 1, "float32", opts.seed) as tf.Tensor4D;
  let i = 0;
  for (const t of scheduler.timesteps) {
    const tt = tf.fill([opts.n], t, "int32") as tf.Tensor1D;
    const eps = model.predict(x, tt);
    const { prevSample, predOriginalSample } = scheduler.step(eps, t, x, {
      seed: deriveSeed(opts.seed, i++),
      eta: opts.eta,
    });
    tf.dispose([x, tt, eps, predOriginalSample]);
    x = prevSample;
  }
  const out = x.dataSync() as Float32Array;
  x.dispose();
  return out;
}

/**
 * Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| between two flat 2-D point sets
 * (Szekely & Rizzo); 0 iff the distributions are equal. U-statistics within each set.
 */
export function energyDistance(a: Float32Array, b: Float32Array): number {
  const meanDist = (p: Float32Array, q: Float32Array, same: boolean) => {
    const n = p.length / 2, m = q.length / 2;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      for (let j = same ? i + 1 : 0; j < m; j++) {
        sum += Math.hypot(p[2 * i] - q[2 * j], p[2 * i + 1] - q[2 * j + 1]);
      }
    }
    return sum / (same ? (n * (n - 1)) / 2 : n * m);
  };
  return 2 * meanDist(a, b, false) - meanDist(a, a, true) - meanDist(b, b, true);
}

/**
 * Per-mode mass: the fraction of points within `radius` of each mode centre, plus the
 * fraction near none.
 */
export function modeMasses(
  points: Float32Array,
  radius: number,
): { perMode: number[]; off: number } {
  const centres = modeCentres();
  const n = points.length / 2;
  const counts = new Array<number>(centres.length).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    let best = -1, bestD = Infinity;
    centres.forEach(([cx, cy], k) => {
      const d = Math.hypot(points[2 * i] - cx, points[2 * i + 1] - cy);
      if (d < bestD) [best, bestD] = [k, d];
    });
    if (bestD <= radius) counts[best]++;
    else off++;
  }
  return { perMode: counts.map((c) => c / n), off: off / n };
}

/**
 * The exact eps of the ring mixture at level alpha-bar: x_t is itself a mixture with means
 * sqrt(abar) mu_k and variance abar std^2 + 1 - abar, and eps* = -sqrt(1 - abar) grad log p_t.
 */
export function ringEps(x: Float32Array, alphaBar: number): Float32Array {
  const centres = modeCentres();
  const v = alphaBar * RING.std ** 2 + 1 - alphaBar;
  const sa = Math.sqrt(alphaBar), sb = Math.sqrt(1 - alphaBar);
  const out = new Float32Array(x.length);
  const logw = new Float64Array(centres.length);
  for (let i = 0; i < x.length / 2; i++) {
    const px = x[2 * i], py = x[2 * i + 1];
    let max = -Infinity;
    centres.forEach(([cx, cy], k) => {
      logw[k] = -((px - sa * cx) ** 2 + (py - sa * cy) ** 2) / (2 * v);
      max = Math.max(max, logw[k]);
    });
    let z = 0, gx = 0, gy = 0;
    centres.forEach(([cx, cy], k) => {
      const w = Math.exp(logw[k] - max);
      z += w;
      gx += w * (sa * cx - px);
      gy += w * (sa * cy - py);
    });
    out[2 * i] = (-sb * gx) / (z * v);
    out[2 * i + 1] = (-sb * gy) / (z * v);
  }
  return out;
}
