/**
 * Inpainting with an unconditional model: the reverse process fills the unknown pixels while the
 * known ones are re-noised to each step's level (RePaint, Lugmayr et al. 2022).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { deriveSeed } from "../random.ts";
import { forwardCoefficients } from "./closed_forms.ts";
import { qSample } from "./process_ops.ts";
import type { NoisePredictor, ReverseScheduler, SampleStepInfo } from "./sample.ts";

/** Options of {@linkcode inpaint}. */
export interface InpaintOptions {
  /** The denoising network. */
  unet: NoisePredictor;
  /**
   * A DDPMScheduler, DDIMScheduler, or DPMSolverMultistepScheduler (without Karras sigmas, and
   * with `resampleSteps` 1: a multistep solver takes each step once).
   */
  scheduler: ReverseScheduler & { readonly alphasCumprod: Float64Array };
  /** The images to complete, NHWC in [-1, 1]; values under the unknown pixels are ignored. Not disposed. */
  image: tf.Tensor4D;
  /**
   * 1 where a pixel is known, 0 where it is to be filled (values >= 0.5 count as known). Shape
   * [H, W], [H, W, 1 | C] or [1 | N, H, W, 1 | C]: it broadcasts over images and channels. Not
   * disposed.
   */
  mask: tf.Tensor;
  /** Reverse steps. Default: all training timesteps. */
  numInferenceSteps?: number;
  /**
   * RePaint's resampling: how many times each step is taken, jumping back one step (re-noising
   * x_{t-1} to x_t) between tries so that the filled region can agree with the known one.
   * Default 1 (no resampling); RePaint uses 10.
   */
  resampleSteps?: number;
  /** Seed of every noise draw. Default 0. */
  seed?: number;
  /** DDIM's noise scale. Ignored by DDPM. */
  eta?: number;
  /** Called after every reverse step; `predOriginalSample` shows the known pixels as given. */
  onStep?: (info: SampleStepInfo) => void | Promise<void>;
}

/**
 * Fills the unknown pixels of `image` with the reverse process of an unconditional model. At
 * every step the model denoises the whole image; then the known pixels are replaced by the
 * input diffused to the step's noise level, q(x_{t-1} | x_0), so that the fill is conditioned
 * on them. With `resampleSteps` r > 1 each step is repeated r times, diffusing x_{t-1} back to
 * x_t between tries (RePaint's Algorithm 1 with jump length 1). At the end the known pixels are
 * copied from the input, so they are kept exactly.
 *
 * @param opts Model, scheduler, images, mask and settings.
 * @returns The completed images, the shape of `image`.
 * @throws {TypeError} when the mask does not broadcast to the images.
 * @throws {RangeError} for a bad step or resample count.
 *
 * @example Fill the right half of a flat image with an untrained tiny model
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createUNet, DDIMScheduler, inpaint, presets, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 });
 * const image = tf.fill([1, 8, 8, 3], 0.5) as tf.Tensor4D;
 * const mask = tf.concat([tf.ones([8, 4]), tf.zeros([8, 4])], 1);
 * const out = await inpaint({
 *   unet,
 *   scheduler: new DDIMScheduler(),
 *   image,
 *   mask,
 *   numInferenceSteps: 3,
 * });
 * if ((await out.data())[0] !== 0.5) throw new Error("a known pixel changed");
 * tf.dispose([image, mask, out]);
 * unet.dispose();
 * ```
 */
export async function inpaint(opts: InpaintOptions): Promise<tf.Tensor4D> {
  const { unet, scheduler, image, seed = 0, eta, onStep } = opts;
  const numSteps = opts.numInferenceSteps ?? scheduler.config.numTrainTimesteps;
  const resample = opts.resampleSteps ?? 1;
  if (image.rank !== 4) {
    throw new TypeError(`Cannot inpaint: image must be NHWC, got shape [${image.shape}]`);
  }
  if (!Number.isInteger(resample) || resample < 1) {
    throw new RangeError(`Cannot inpaint: resampleSteps must be an integer >= 1, got ${resample}`);
  }
  const known = _knownMask(opts.mask, image.shape);
  scheduler.setTimesteps(numSteps);
  const ts = Array.from(scheduler.timesteps);
  const ab = scheduler.alphasCumprod;
  const n = image.shape[0];
  const diffuse = (x0: tf.Tensor4D, alphaBar: number, s: number) =>
    alphaBar === 1 ? x0 : qSample(
      x0,
      tf.randomNormal(x0.shape, 0, 1, "float32", s),
      forwardCoefficients(alphaBar),
    );

  let x = tf.tidy(() => {
    const z = tf.randomNormal(image.shape, 0, 1, "float32", deriveSeed(seed, 0x1a7)) as tf.Tensor4D;
    return tf.where(known, diffuse(image, ab[ts[0]], deriveSeed(seed, 0x1a8)), z) as tf.Tensor4D;
  });
  try {
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      const prevT = i + 1 < ts.length ? ts[i + 1] : -1;
      const abPrev = prevT >= 0 ? ab[prevT] : 1;
      let x0: tf.Tensor4D | null = null;
      for (let u = 0; u < resample; u++) {
        const last = u === resample - 1 || prevT < 0;
        const [next, pred] = tf.tidy(() => {
          const out = unet.predict(x, tf.fill([n], t, "int32") as tf.Tensor1D, { training: false });
          const step = scheduler.step(out, t, x, { seed: deriveSeed(seed, i, u, 1), eta });
          // The known pixels at x_{t-1}'s noise level, the unknown ones from the model.
          const prev = tf.where(
            known,
            diffuse(image, abPrev, deriveSeed(seed, i, u, 2)),
            step.prevSample,
          ) as tf.Tensor4D;
          // RePaint's jump back: x_t ~ q(x_t | x_{t-1}), over the whole stride.
          const back = last ? prev : diffuse(prev, ab[t] / abPrev, deriveSeed(seed, i, u, 3));
          return [back, tf.where(known, image, step.predOriginalSample) as tf.Tensor4D];
        });
        x.dispose();
        x0?.dispose();
        x = next;
        x0 = pred;
        if (last) break;
      }
      try {
        await onStep?.({ step: i, numSteps: ts.length, t, predOriginalSample: x0!, sample: x });
      } finally {
        x0!.dispose();
      }
      // Let timers and signal handlers run during long loops.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // The known pixels exactly as given, whatever rounding the steps did.
    return tf.tidy(() => tf.where(known, image, x) as tf.Tensor4D);
  } finally {
    tf.dispose([x, known]);
  }
}

/** The mask as a boolean tensor of the images' shape. */
function _knownMask(mask: tf.Tensor, shape: number[]): tf.Tensor4D {
  const [n, h, w, c] = shape;
  const m4 = mask.rank === 2
    ? [1, ...mask.shape, 1]
    : mask.rank === 3
    ? [1, ...mask.shape]
    : mask.rank === 4
    ? mask.shape
    : [];
  const fits = m4.length === 4 && m4[1] === h && m4[2] === w &&
    (m4[0] === 1 || m4[0] === n) && (m4[3] === 1 || m4[3] === c);
  if (!fits) {
    throw new TypeError(
      `Cannot inpaint: mask of shape [${mask.shape}] does not fit images of shape [${shape}]; ` +
        `use [${h}, ${w}], [${h}, ${w}, 1] or [1, ${h}, ${w}, 1]`,
    );
  }
  return tf.tidy(() =>
    tf.broadcastTo(
      mask.reshape(m4).greaterEqual(0.5),
      shape as [number, number, number, number],
    ) as tf.Tensor4D
  );
}
