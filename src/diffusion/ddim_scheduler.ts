/**
 * The sampler of Denoising Diffusion Implicit Models (Song, Meng, Ermon 2021), with
 * diffusers' `DDIMScheduler` surface.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  NoiseScheduler,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from "./noise_scheduler.ts";
import {
  checkTimestep,
  forwardCoefficients,
  posteriorVariance,
  stepCoefficients,
} from "./closed_forms.ts";
import { epsFromX0 } from "./process_ops.ts";
import type { SchedulerConfig } from "./scheduler_config.ts";

/**
 * DDIM: the same forward process and training objective as DDPM, sampled by a non-Markovian
 * reverse process that can skip timesteps (50 steps instead of 1000) and, with eta = 0, is
 * deterministic. Config, defaults and numbers follow diffusers' `DDIMScheduler`; it uses every
 * field of {@linkcode SchedulerConfig} except `varianceType`, and adds `setAlphaToOne`
 * (default true): alpha-bar = 1 for the step that lands on x_0, else alpha-bar_0.
 *
 * Until {@linkcode setTimesteps} is called it steps through all T timesteps.
 *
 * @example Deterministic sampling in 50 steps
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { DDIMScheduler, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const s = new DDIMScheduler();
 * s.setTimesteps(50);
 * let x = tf.randomNormal([1, 2, 2, 1], 0, 1, "float32", 0) as tf.Tensor4D;
 * for (const t of s.timesteps) {
 *   const eps = tf.zeros(x.shape) as tf.Tensor4D; // stands in for unet.predict(x, t)
 *   x = s.step(eps, t, x).prevSample;
 * }
 * if (x.shape.join() !== "1,2,2,1") throw new Error("wrong shape");
 * ```
 */
export class DDIMScheduler extends NoiseScheduler {
  /** The diffusers class this scheduler corresponds to. */
  readonly className: "DDIMScheduler" = "DDIMScheduler";
  /** alpha-bar used for the step that lands on x_0 (timestep -1). */
  readonly finalAlphaCumprod: number;

  /**
   * Builds the schedule from a config; missing fields take diffusers' defaults.
   *
   * @param config Some or all fields of {@linkcode SchedulerConfig}.
   * @throws {TypeError} or {RangeError} for an invalid field, naming it and its value.
   */
  constructor(config: Partial<SchedulerConfig> = {}) {
    super(config);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  /**
   * t - floor(T / numInferenceSteps), as diffusers' DDIM computes it (below 0 means x_0).
   *
   * @param t A timestep in [0, T).
   * @returns The timestep `step` lands on, or -1 for x_0.
   * @throws {RangeError} when `t` is out of range.
   *
   * @example
   * ```ts
   * import { DDIMScheduler } from "@x/ddpm";
   * const s = new DDIMScheduler();
   * s.setTimesteps(50);
   * if (s.previousTimestep(980) !== 960 || s.previousTimestep(0) !== -1) throw new Error("wrong");
   * ```
   */
  override previousTimestep(t: number): number {
    checkTimestep(t, this.config.numTrainTimesteps);
    return this._previousByStride(t);
  }

  /**
   * One DDIM step (Song et al. 2021, eq. 12):
   * x_prev = sqrt(alpha-bar_prev) x_0-hat + sqrt(1 - alpha-bar_prev - sigma^2) eps-hat + sigma z,
   * with sigma = eta sqrt((1 - alpha-bar_prev) / (1 - alpha-bar_t) (1 - alpha-bar_t / alpha-bar_prev))
   * (eq. 16). eta = 0 is deterministic; eta = 1 is the DDPM posterior with sigma^2 = beta-tilde.
   *
   * @param modelOutput The model's prediction for x_t, per `predictionType` (with learned
   * variance types, extra variance channels are dropped).
   * @param t The current timestep, in [0, T).
   * @param sample x_t, NHWC.
   * @param opts `eta` (default 0), `noise` or `seed` for z (used only when eta > 0), and
   * `useClippedModelOutput` to recompute eps-hat from the clipped x_0-hat.
   * @returns The sample at the previous timestep and x_0-hat.
   * @throws {RangeError} when `t` or `eta` is out of range.
   * @throws {TypeError} when shapes do not match.
   *
   * @example eta = 0 ignores the seed
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { DDIMScheduler, setBackend } from "@x/ddpm";
   * await setBackend("cpu");
   * const s = new DDIMScheduler();
   * const x = tf.ones([1, 1, 1, 2]) as tf.Tensor4D;
   * const a = s.step(x, 10, x, { seed: 1 }).prevSample;
   * const b = s.step(x, 10, x, { seed: 2 }).prevSample;
   * if ((await a.data()).join() !== (await b.data()).join()) throw new Error("not deterministic");
   * ```
   */
  step(
    modelOutput: tf.Tensor4D,
    t: number,
    sample: tf.Tensor4D,
    opts: SchedulerStepOptions = {},
  ): SchedulerStepOutput {
    const eta = opts.eta ?? 0;
    if (!(Number.isFinite(eta) && eta >= 0)) {
      throw new RangeError(`step: eta must be a finite number >= 0, got ${eta}`);
    }
    // 1. The previous timestep, t - T / n.
    const prevT = this.previousTimestep(t);
    // 2. alpha-bar_t and alpha-bar_prev (DDIM's alpha_t and alpha_{t-1}); float64 on the host.
    const c = stepCoefficients(this.alphasCumprod, t, prevT, this.finalAlphaCumprod);
    // 3. sigma_t(eta) (DDIM eq. 16): eta times the square root of DDPM's beta-tilde.
    const sigma = eta * Math.sqrt(posteriorVariance(c.alphaProdT, c.alphaProdPrev));
    const dirCoef = Math.sqrt(Math.max(c.betaProdPrev - sigma * sigma, 0));
    return tf.tidy(() => {
      const { prediction } = this._splitModelOutput(modelOutput, sample);
      // 4. x_0-hat, "predicted x_0" of DDIM eq. 12 (Ho et al. eq. 15 for eps), and eps-hat.
      const pred = this._predictX0AndEps(prediction, sample, c);
      // 5. Clip or threshold x_0-hat.
      const x0Hat = this._clipOrThreshold(pred.x0);
      let eps = pred.eps;
      if (opts.useClippedModelOutput) {
        eps = epsFromX0(sample, x0Hat, forwardCoefficients(c.alphaProdT));
      }
      // 6. "direction pointing to x_t" and 7. x_prev without noise (DDIM eq. 12).
      let prev = tf.add(
        tf.mul(x0Hat, Math.sqrt(c.alphaProdPrev)),
        tf.mul(eps, dirCoef),
      ) as tf.Tensor4D;
      // 8. Random noise sigma_t z, only for eta > 0.
      if (eta > 0) prev = tf.add(prev, tf.mul(this._noise(sample, opts), sigma)) as tf.Tensor4D;
      return { prevSample: prev, predOriginalSample: x0Hat };
    });
  }
}
