/**
 * The variational bound on the negative log-likelihood (the paper's eq. 5 and Table 1), in bits
 * per dimension.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { inferenceChunkSize } from "../memory/memory_limit.ts";
import { explainOutOfMemory } from "../memory/out_of_memory.ts";
import { deriveSeed, mulberry32 } from "../random.ts";
import {
  type ForwardCoefficients,
  forwardCoefficients,
  type PosteriorMeanCoefficients,
  posteriorMeanCoefficients,
  posteriorVariances,
} from "./closed_forms.ts";
import { posteriorMean, predictX0AndEps, qSample } from "./process_ops.ts";
import { LOG_PROB_FLOOR, normalKl } from "./nll_math.ts";
import type { PredictionType, SchedulerConfig } from "./scheduler_config.ts";

/** The part of a UNet that {@linkcode evaluateNll} needs. */
export interface NllModel {
  /** The model's output for x_t at timesteps t, the same shape as x. */
  predict(x: tf.Tensor4D, t: tf.Tensor1D, opts?: { training?: boolean }): tf.Tensor4D;
}

/** The part of a DDPM scheduler that {@linkcode evaluateNll} needs: its schedule and settings. */
export interface NllScheduler {
  /** beta_t for every training timestep. */
  readonly betas: Float64Array;
  /** alpha-bar_t for every training timestep. */
  readonly alphasCumprod: Float64Array;
  /** The variance, prediction type and clipping of the model being evaluated. */
  readonly config: Pick<
    SchedulerConfig,
    "numTrainTimesteps" | "varianceType" | "predictionType" | "clipSample" | "clipSampleRange"
  >;
}

/** Options of {@linkcode evaluateNll}. */
export interface NllOptions {
  /** The denoising network (its eps, x_0 or v output, per `scheduler.config.predictionType`). */
  unet: NllModel;
  /** The scheduler the model was trained with; its variance type fixes Sigma_theta. */
  scheduler: NllScheduler;
  /** Images NHWC in [-1, 1], on the 256-level grid of 8-bit data (x / 127.5 - 1). Not disposed. */
  images: tf.Tensor4D;
  /**
   * Image-timestep pairs per forward pass. The result does not depend on it: each pair's noise
   * is drawn from its own seed. Default 16, or fewer where the backend's memory limit needs it
   * (measured on passes of one and two pairs).
   */
  batchSize?: number;
  /**
   * How many timesteps to evaluate. Default: all T (the exact sum of eq. 5). With k < T, the
   * decoder term L_0 is still computed exactly and k - 1 of the T - 1 KL terms are drawn
   * uniformly without replacement and scaled by (T - 1) / (k - 1): an unbiased estimate of the
   * bound, not the bound itself.
   */
  numTimesteps?: number;
  /**
   * Clip the predicted x_0 before forming the model's mean. Default `scheduler.config.clipSample`,
   * so that the bound is that of the model the scheduler samples from; the reference code's
   * `calc_bpd_loop` (Table 1) clips to [-1, 1] too.
   */
  clipDenoised?: boolean;
  /** Seed of the forward-process noise and of the timestep draw. Default 0. */
  seed?: number;
  /** Called after every forward pass with the number of image-timestep pairs done so far. */
  onProgress?: (progress: { done: number; total: number }) => void | Promise<void>;
}

/** The bound and its terms, every value in bits per dimension and averaged over the images. */
export interface NllResult {
  /** The whole bound: prior + decoder + every KL term (or their unbiased estimate). */
  bitsPerDim: number;
  /** L_T = KL(q(x_T | x_0) || N(0, I)). */
  priorBitsPerDim: number;
  /** L_0 = -log p(x_0 | x_1) under the discretized Gaussian decoder. */
  decoderBitsPerDim: number;
  /** One term per timestep index t (length T): [0] is L_0, [t] the KL term at index t; NaN where not evaluated. */
  termsBitsPerDim: Float64Array;
  /** The bound of each image. */
  perImageBitsPerDim: Float64Array;
  /** The timestep indices that were evaluated, ascending. */
  timesteps: Int32Array;
}

/**
 * Evaluates the variational bound of eq. 5, L = L_T + sum_{t>1} L_{t-1} + L_0, in bits per
 * dimension, as the reference code's `calc_bpd_loop` does: for every timestep each image is
 * diffused to x_t with fresh noise, the model's Gaussian p(x_{t-1} | x_t) (its mean from the
 * predicted x_0, its variance fixed by `scheduler.config.varianceType`) is compared with the
 * posterior q(x_{t-1} | x_t, x_0) by a KL divergence, and at t = 1 the discretized Gaussian
 * decoder of section 3.3 scores x_0 over 256 bins. By default every one of the T terms is
 * computed (T forward passes per image); `numTimesteps` trades this for an unbiased estimate.
 *
 * Variances: "fixed_small" (and "fixed_small_log") uses beta-tilde_t; "fixed_large" (and
 * "fixed_large_log") uses beta_t, except that the decoder uses beta-tilde at index 1, as the
 * reference code does for a better decoder likelihood. Learned variances are not supported.
 *
 * @param opts Model, scheduler, images and settings.
 * @returns The bound and its parts, averaged over the images.
 * @throws {TypeError} when the images are not NHWC.
 * @throws {RangeError} for values outside [-1, 1], a learned variance or bad counts.
 *
 * @example The bound of an untrained tiny model on two flat images, estimated from 4 timesteps
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, DDPMScheduler, evaluateNll, presets, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const images = tf.zeros([2, 8, 8, 3]) as tf.Tensor4D;
 * const nll = await evaluateNll({
 *   unet,
 *   scheduler: new DDPMScheduler({ numTrainTimesteps: 50 }),
 *   images,
 *   numTimesteps: 4,
 * });
 * if (!(nll.bitsPerDim > 0) || nll.termsBitsPerDim.length !== 50) throw new Error("bad bound");
 * images.dispose();
 * unet.dispose();
 * ```
 */
export async function evaluateNll(opts: NllOptions): Promise<NllResult> {
  const { unet, scheduler, images, seed = 0, onProgress } = opts;
  const { config } = scheduler;
  const T = config.numTrainTimesteps;
  const batchSize = opts.batchSize ??
    (images.rank === 4 ? await inferenceChunkSize(unet, imageShape(images), 16) : 16);
  const k = opts.numTimesteps ?? T;
  const clipRange = (opts.clipDenoised ?? config.clipSample) ? config.clipSampleRange : null;
  if (images.rank !== 4) {
    throw new TypeError(
      `Cannot evaluate the NLL: images must be NHWC, got shape [${images.shape}]`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `Cannot evaluate the NLL: batchSize must be an integer >= 1, got ${batchSize}`,
    );
  }
  if (!Number.isInteger(k) || k < Math.min(2, T) || k > T) {
    throw new RangeError(
      `Cannot evaluate the NLL: numTimesteps must be an integer in [${
        Math.min(2, T)
      }, ${T}], got ${k}`,
    );
  }
  if (!/^fixed_(small|large)(_log)?$/.test(config.varianceType)) {
    throw new RangeError(
      `Cannot evaluate the NLL with varianceType "${config.varianceType}": ` +
        "use a scheduler with fixed_small or fixed_large",
    );
  }
  const rangeT = tf.tidy(() => tf.stack([images.min(), images.max()]));
  const range = await rangeT.data();
  rangeT.dispose();
  if (!(range[0] >= -1 - 1e-3 && range[1] <= 1 + 1e-3)) {
    throw new RangeError(
      `Cannot evaluate the NLL: images must be in [-1, 1] (x / 127.5 - 1), got values in [${
        range[0]
      }, ${range[1]}]`,
    );
  }
  const coef = _coefficients(scheduler.betas, scheduler.alphasCumprod, config.varianceType);
  const timesteps = _chooseTimesteps(T, k, deriveSeed(seed, 0x7153));
  const n = images.shape[0];

  // Every (image, timestep) pair is one row of some forward pass, so that a few images still
  // fill a batch. terms[i * T + t] holds nats per dimension.
  const terms = new Float64Array(n * T).fill(NaN);
  const total = n * timesteps.length;
  for (let start = 0; start < total; start += batchSize) {
    // Pair p is image p % n at timestep timesteps[floor(p / n)].
    const chunk = Array.from(
      { length: Math.min(batchSize, total - start) },
      (_, j): [number, number] => [(start + j) % n, timesteps[Math.floor((start + j) / n)]],
    );
    const [mseT, decT] = tf.tidy(() => {
      try {
        return _batchTerms(unet, images, chunk, coef, {
          predictionType: config.predictionType,
          clipRange,
          // Pair p's noise comes from its own seed, whatever pass it falls in.
          seeds: chunk.map((_, j) => deriveSeed(seed, 0x401, start + j)),
        });
      } catch (err) {
        throw explainOutOfMemory(err, {
          what: `Evaluating the NLL (passes of ${batchSize} pairs)`,
          flag: "batchSize (eval CLI: --batch)",
          value: batchSize,
        });
      }
    });
    // One read per pass: the MSE of every row, then the decoder terms when t = 0 is in it.
    const both = decT ? tf.concat([mseT, decT]) : mseT;
    const values = await both.data();
    tf.dispose(decT ? [both, mseT, decT] : [mseT]);
    const mse = values.subarray(0, chunk.length);
    const dec = decT ? values.subarray(chunk.length) : null;
    chunk.forEach(([i, t], j) => {
      // The means of q(x_{t-1} | x_t, x_0) and p(x_{t-1} | x_t) differ by x0Coef (x0_pred - x0).
      terms[i * T + t] = t === 0
        ? dec![j]
        : coef.klConst[t] + 0.5 * coef.mean.x0Coef[t] ** 2 * mse[j] / coef.modelVar[t];
    });
    await onProgress?.({ done: start + chunk.length, total });
    // Let timers and signal handlers run during a long evaluation.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  const prior = await _priorNats(images, scheduler.alphasCumprod[T - 1]);
  // Unbiased: each KL term is drawn with probability (k - 1) / (T - 1).
  const scale = k === T ? 1 : (T - 1) / (k - 1);
  const termsBits = new Float64Array(T).fill(NaN);
  for (const t of timesteps) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += terms[i * T + t];
    termsBits[t] = sum / n / Math.LN2;
  }
  const perImage = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let kl = 0;
    for (const t of timesteps) if (t > 0) kl += terms[i * T + t];
    perImage[i] = (prior[i] + terms[i * T] + scale * kl) / Math.LN2;
  }
  return {
    bitsPerDim: _mean(perImage),
    priorBitsPerDim: _mean(prior) / Math.LN2,
    decoderBitsPerDim: termsBits[0],
    termsBitsPerDim: termsBits,
    perImageBitsPerDim: perImage,
    timesteps,
  };
}

/** Per-timestep float64 constants of the bound. */
interface Coefficients {
  /** The forward process at t (eq. 4). */
  forward: ForwardCoefficients<Float64Array>;
  /** The posterior mean at t (eq. 7). */
  mean: PosteriorMeanCoefficients<Float64Array>;
  /** Sigma_t^2 of p(x_{t-1} | x_t). */
  modelVar: Float64Array;
  /** The KL divergence's part that does not depend on the means, per dimension, in nats. */
  klConst: Float64Array;
}

function _coefficients(
  betas: ArrayLike<number>,
  alphasCumprod: ArrayLike<number>,
  varianceType: string,
): Coefficients {
  const T = alphasCumprod.length;
  const forward = Array.from(alphasCumprod, forwardCoefficients);
  const mean = Array.from(
    alphasCumprod,
    (ab, t) => posteriorMeanCoefficients(ab, t > 0 ? alphasCumprod[t - 1] : 1),
  );
  const c: Coefficients = {
    forward: {
      sqrtAlphaProd: Float64Array.from(forward, (f) => f.sqrtAlphaProd),
      sqrtOneMinusAlphaProd: Float64Array.from(forward, (f) => f.sqrtOneMinusAlphaProd),
    },
    mean: {
      x0Coef: Float64Array.from(mean, (m) => m.x0Coef),
      xtCoef: Float64Array.from(mean, (m) => m.xtCoef),
    },
    modelVar: new Float64Array(T),
    klConst: new Float64Array(T),
  };
  const postVar = posteriorVariances(alphasCumprod);
  // beta-tilde is 0 at index 0; the reference clips its log to the value at index 1.
  const firstVar = T > 1 ? postVar[1] : betas[0];
  const large = varianceType.startsWith("fixed_large");
  for (let t = 0; t < T; t++) {
    const qVar = t > 0 ? postVar[t] : firstVar;
    c.modelVar[t] = t === 0 ? firstVar : large ? betas[t] : qVar;
    c.klConst[t] = normalKl(0, Math.log(qVar), 0, Math.log(c.modelVar[t]));
  }
  return c;
}

/** Index 0 (the decoder) always; k - 1 of the KL indices 1..T-1 drawn without replacement. */
function _chooseTimesteps(T: number, k: number, seed: number): Int32Array {
  if (k === T) return Int32Array.from({ length: T }, (_, t) => t);
  const rand = mulberry32(seed);
  const pool = Int32Array.from({ length: T - 1 }, (_, t) => t + 1);
  for (let i = 0; i < k - 1; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const chosen = Int32Array.from([0, ...pool.subarray(0, k - 1)]);
  return chosen.sort();
}

/** The mean squared error of the predicted x_0 per row, and the decoder's NLL (nats/dim) when a row has t = 0. */
function _batchTerms(
  unet: NllModel,
  images: tf.Tensor4D,
  chunk: [number, number][],
  c: Coefficients,
  opts: { predictionType: PredictionType; clipRange: number | null; seeds: number[] },
): [tf.Tensor1D, tf.Tensor1D | undefined] {
  const b = chunk.length;
  const ts = chunk.map((p) => p[1]);
  const col = (a: Float64Array) => tf.tensor4d(ts.map((t) => a[t]), [b, 1, 1, 1]);
  const x0 = tf.gather(images, tf.tensor1d(chunk.map((p) => p[0]), "int32")) as tf.Tensor4D;
  const [, h, w, ch] = x0.shape;
  const noise = tf.concat(
    opts.seeds.map((s) => tf.randomNormal([1, h, w, ch], 0, 1, "float32", s)),
  );
  const forward = {
    sqrtAlphaProd: col(c.forward.sqrtAlphaProd),
    sqrtOneMinusAlphaProd: col(c.forward.sqrtOneMinusAlphaProd),
  };
  const xt = qSample(x0, noise as tf.Tensor4D, forward);
  const out = unet.predict(xt, tf.tensor1d(ts, "int32"), { training: false });
  if (out.shape.join() !== x0.shape.join()) {
    throw new TypeError(
      `Cannot evaluate the NLL: the model returned shape [${out.shape}] for input [${x0.shape}]`,
    );
  }
  let pred = predictX0AndEps(opts.predictionType, out, xt, forward).x0;
  if (opts.clipRange !== null) pred = tf.clipByValue(pred, -opts.clipRange, opts.clipRange);
  const mse = pred.sub(x0).square().mean([1, 2, 3]) as tf.Tensor1D;
  if (!ts.includes(0)) return [mse, undefined];
  const mean = posteriorMean(pred, xt, { x0Coef: col(c.mean.x0Coef), xtCoef: col(c.mean.xtCoef) });
  const logScale = col(c.modelVar).log().mul(0.5) as tf.Tensor4D;
  const nll = _discretizedLogLikelihood(x0, mean, logScale).mean([1, 2, 3]).neg() as tf.Tensor1D;
  return [mse, nll];
}

/** The tensor twin of discretizedGaussianLogLikelihood in nll_math.ts. */
function _discretizedLogLikelihood(
  x: tf.Tensor4D,
  mean: tf.Tensor4D,
  logScale: tf.Tensor4D,
): tf.Tensor4D {
  const centered = x.sub(mean);
  const invStd = logScale.neg().exp();
  const cdf = (z: tf.Tensor) =>
    z.add(z.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI)).tanh().add(1).mul(0.5);
  const cdfPlus = cdf(centered.add(1 / 255).mul(invStd));
  const cdfMin = cdf(centered.sub(1 / 255).mul(invStd));
  const safeLog = (p: tf.Tensor) => p.maximum(LOG_PROB_FLOOR).log();
  return tf.where(
    x.less(-0.999),
    safeLog(cdfPlus),
    tf.where(
      x.greater(0.999),
      safeLog(tf.sub(1, cdfMin)),
      safeLog(cdfPlus.sub(cdfMin)),
    ),
  ) as tf.Tensor4D;
}

/** L_T per image in nats per dimension, on the host in float64. */
async function _priorNats(images: tf.Tensor4D, alphaBarT: number): Promise<Float64Array> {
  const [n] = images.shape;
  const out = new Float64Array(n);
  const { sqrtAlphaProd } = forwardCoefficients(alphaBarT), logVar = Math.log(1 - alphaBarT);
  for (let start = 0; start < n; start += 64) {
    const size = Math.min(64, n - start);
    const part = images.slice([start, 0, 0, 0], [size, -1, -1, -1]);
    const data = await part.data();
    part.dispose();
    const dims = data.length / size;
    for (let i = 0; i < size; i++) {
      let sum = 0;
      for (let d = i * dims; d < (i + 1) * dims; d++) {
        sum += normalKl(sqrtAlphaProd * data[d], logVar, 0, 0);
      }
      out[start + i] = sum / dims;
    }
  }
  return out;
}

function _mean(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

function imageShape(images: tf.Tensor4D): [number, number, number] {
  const [, h, w, c] = images.shape;
  return [h, w, c];
}
