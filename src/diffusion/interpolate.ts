/**
 * Interpolation between two images through the diffused latent x_t (the paper's section 4.3 and
 * Figure 8).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../random.ts";
import { forwardCoefficients } from "./closed_forms.ts";
import { qSample } from "./process_ops.ts";
import type { NoisePredictor, ReverseScheduler, SampleStepInfo } from "./sample.ts";

/** Options of {@linkcode interpolate}. */
export interface InterpolateOptions {
  /** The denoising network. */
  unet: NoisePredictor;
  /** A DDPMScheduler (the paper) or DDIMScheduler; every training timestep below `t` is visited. */
  scheduler: ReverseScheduler & { readonly alphasCumprod: Float64Array };
  /** The first image, [1, H, W, C] or [H, W, C], in [-1, 1]. Not disposed. */
  a: tf.Tensor4D | tf.Tensor3D;
  /** The second image, the same shape as `a`. Not disposed. */
  b: tf.Tensor4D | tf.Tensor3D;
  /**
   * How far to diffuse, counted in steps as in the paper: 0 keeps the images, T (=
   * `numTrainTimesteps`) destroys them; Figure 8 uses 250 to 1000 of T = 1000. The reverse
   * process then runs the t steps from scheduler timestep t - 1 down to 0.
   */
  t: number;
  /**
   * The mixing weights: an array of lambdas (0 = `a`, 1 = `b`), or a count n >= 2 for n evenly
   * spaced values from 0 to 1.
   */
  lambdas: number | readonly number[];
  /** Seed of the forward noise (shared by `a` and `b`) and of the reverse steps. Default 0. */
  seed?: number;
  /** Called after every reverse step, e.g. for progress. */
  onStep?: (info: SampleStepInfo) => void | Promise<void>;
}

/**
 * Interpolates two images in the latent space of the diffusion: both are diffused to step `t`
 * with the same noise, x_t = sqrt(alpha-bar) x_0 + sqrt(1 - alpha-bar) eps, mixed linearly as
 * (1 - lambda) x_t^a + lambda x_t^b, and each mixture is denoised by the reverse process. The
 * reverse steps of one call share their noise across the row, so that the images differ only
 * through their latents. Small `t` keeps the inputs' details; large `t` gives novel images
 * (Figure 8's coarse-to-fine rows).
 *
 * @param opts Model, scheduler, the two images, t, the lambdas and a seed.
 * @returns One image per lambda, NHWC, in order. With t = 0 these are the pixel-space mixtures,
 *   so lambda = 0 and 1 return `a` and `b` exactly.
 * @throws {TypeError} when `a` and `b` differ in shape or are not single images.
 * @throws {RangeError} when `t` is outside [0, T] or a lambda is not finite.
 *
 * @example Mix two flat images at t = 0
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, DDPMScheduler, interpolate, presets, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const a = tf.fill([1, 8, 8, 3], -1) as tf.Tensor4D;
 * const b = tf.fill([1, 8, 8, 3], 1) as tf.Tensor4D;
 * const row = await interpolate({ unet, scheduler: new DDPMScheduler(), a, b, t: 0, lambdas: 3 });
 * const middle = (await row.data())[row.size / 2];
 * if (row.shape[0] !== 3 || middle !== 0) throw new Error("not the midpoint");
 * tf.dispose([a, b, row]);
 * unet.dispose();
 * ```
 */
export async function interpolate(opts: InterpolateOptions): Promise<tf.Tensor4D> {
  const { unet, scheduler, t, seed = 0, onStep } = opts;
  const T = scheduler.config.numTrainTimesteps;
  const lambdas = _lambdas(opts.lambdas);
  const [a, b] = [opts.a, opts.b].map((x) => (x.rank === 3 ? x.expandDims(0) : x.clone()));
  try {
    if (a.rank !== 4 || a.shape[0] !== 1 || a.shape.join() !== b.shape.join()) {
      throw new TypeError(
        `Cannot interpolate: a and b must be single images of one shape, got [${opts.a.shape}] and [${opts.b.shape}]`,
      );
    }
    if (!Number.isInteger(t) || t < 0 || t > T) {
      throw new RangeError(`Cannot interpolate: t must be an integer in [0, ${T}], got ${t}`);
    }
    const n = lambdas.length;
    const weights = (l: readonly number[]) => tf.tensor4d(l as number[], [n, 1, 1, 1]);
    let x = tf.tidy(() => {
      let xa = a, xb = b;
      if (t > 0) {
        const c = forwardCoefficients(scheduler.alphasCumprod[t - 1]);
        const eps = tf.randomNormal(a.shape, 0, 1, "float32", deriveSeed(seed, 0x1e7a));
        xa = qSample(a as tf.Tensor4D, eps as tf.Tensor4D, c);
        xb = qSample(b as tf.Tensor4D, eps as tf.Tensor4D, c);
      }
      // (1 - lambda) a + lambda b, which is exactly a at lambda 0 and exactly b at lambda 1.
      return xa.mul(weights(lambdas.map((l) => 1 - l))).add(
        xb.mul(weights(lambdas)),
      ) as tf.Tensor4D;
    });
    if (t === 0) return x;
    scheduler.setTimesteps(T);
    for (let k = t - 1; k >= 0; k--) {
      const { prevSample, predOriginalSample } = tf.tidy(() => {
        const eps = unet.predict(x, tf.fill([n], k, "int32") as tf.Tensor1D, { training: false });
        const z = tf.randomNormal([1, ...x.shape.slice(1)], 0, 1, "float32", deriveSeed(seed, k));
        return scheduler.step(eps, k, x, { noise: tf.tile(z, [n, 1, 1, 1]) as tf.Tensor4D });
      });
      x.dispose();
      x = prevSample;
      try {
        await onStep?.({ step: t - 1 - k, numSteps: t, t: k, predOriginalSample, sample: x });
      } finally {
        predOriginalSample.dispose();
      }
      // Let timers and signal handlers run during long loops.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return x;
  } finally {
    tf.dispose([a, b]);
  }
}

function _lambdas(l: number | readonly number[]): number[] {
  if (typeof l === "number") {
    if (!Number.isInteger(l) || l < 2) {
      throw new RangeError(`Cannot interpolate: a lambda count must be an integer >= 2, got ${l}`);
    }
    return Array.from({ length: l }, (_, i) => (i === l - 1 ? 1 : i / (l - 1)));
  }
  if (l.length === 0 || !l.every(Number.isFinite)) {
    throw new RangeError(`Cannot interpolate: lambdas must be finite numbers, got [${l}]`);
  }
  return [...l];
}
