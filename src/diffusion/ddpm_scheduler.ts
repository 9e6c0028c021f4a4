/**
 * The ancestral sampler of Ho et al. (2020), with diffusers' `DDPMScheduler` surface.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  NoiseScheduler,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from "./noise_scheduler.ts";
import { posteriorMeanCoefficients, posteriorVariance, stepCoefficients } from "./closed_forms.ts";
import { posteriorMean } from "./process_ops.ts";

/**
 * Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel 2020): the forward process
 * q(x_t | x_0) in closed form for training (`addNoise`) and the reverse step of Algorithm 2
 * for sampling (`step`), with the config, defaults and numbers of diffusers'
 * `DDPMScheduler`.
 *
 * Config fields (camelCase; see {@linkcode SchedulerConfig} for all of them and their
 * defaults): `numTrainTimesteps` 1000, `betaStart` 1e-4, `betaEnd` 0.02, `betaSchedule`
 * "linear", `trainedBetas` null, `varianceType` "fixed_small", `clipSample` true,
 * `clipSampleRange` 1, `predictionType` "epsilon", `thresholding` false,
 * `dynamicThresholdingRatio` 0.995, `sampleMaxValue` 1, `timestepSpacing` "leading",
 * `stepsOffset` 0, `rescaleBetasZeroSnr` false.
 *
 * @example Sample with the true noise as the model: one step from t = 999
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { DDPMScheduler, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const scheduler = new DDPMScheduler();
 * const x0 = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
 * const eps = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
 * const xt = scheduler.addNoise(x0, eps, tf.tensor1d([999], "int32"));
 * const { predOriginalSample } = scheduler.step(eps, 999, xt, { seed: 1 });
 * if (Math.abs((await predOriginalSample.data())[0]) > 1e-3) throw new Error("x0 not recovered");
 * ```
 */
export class DDPMScheduler extends NoiseScheduler {
  /** The diffusers class this scheduler corresponds to. */
  readonly className: "DDPMScheduler" = "DDPMScheduler";

  /**
   * One step of ancestral sampling (Algorithm 2): x_{t-1} = mu-tilde(x_t, x_0-hat) + sigma_t z,
   * where x_0-hat comes from the model output. With {@linkcode setTimesteps} the step spans the
   * stride to the previous inference timestep, using alpha_t := alpha-bar_t / alpha-bar_prev.
   * No noise is added on the step that lands on x_0 (from t = 0, or from the last inference
   * timestep; diffusers adds noise there when that timestep is not 0).
   *
   * The variance types follow diffusers: `fixed_small` sigma^2 = beta-tilde_t (eq. 7),
   * `fixed_large` sigma^2 = beta_t, `*_log` the same computed in log space, `learned` the
   * extra channels are sigma^2 itself, `learned_range` they are v in [-1, 1] interpolating
   * log sigma^2 = (v + 1) / 2 log beta_t + (1 - v) / 2 log beta-tilde_t (Nichol & Dhariwal 2021).
   * (diffusers' `fixed_large_log` takes the square root of log beta_t, a NaN; here it gives
   * sigma = sqrt(beta_t).)
   *
   * @param modelOutput The model's prediction for x_t, per `predictionType`; for learned
   * variance types, 2C channels: the prediction, then the variance values.
   * @param t The current timestep, in [0, T).
   * @param sample x_t, NHWC.
   * @param opts `noise` (z, same shape as `sample`) or a `seed` to draw it; `eta` is ignored.
   * @returns x_{t-1} and the (clipped) x_0-hat.
   * @throws {RangeError} when `t` is out of range.
   * @throws {TypeError} when shapes do not match.
   *
   * @example With zero noise the step returns the posterior mean
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { DDPMScheduler, setBackend } from "@x/ddpm";
   * await setBackend("cpu");
   * const s = new DDPMScheduler({ clipSample: false });
   * const x = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
   * const zero = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
   * const { prevSample } = s.step(zero, 500, x, { noise: zero });
   * // eps = 0: x0-hat = x / sqrt(abar_t), mean = x / sqrt(alpha_t)
   * const expected = 1 / Math.sqrt(s.alphas[500]);
   * if (Math.abs((await prevSample.data())[0] - expected) > 1e-6) throw new Error("not the mean");
   * ```
   */
  step(
    modelOutput: tf.Tensor4D,
    t: number,
    sample: tf.Tensor4D,
    opts: SchedulerStepOptions = {},
  ): SchedulerStepOutput {
    const prevT = this.previousTimestep(t);
    // 1. alpha-bar at t and at the previous timestep, the signal levels of the closed form
    //    q(x_t | x_0) = N(sqrt(alpha-bar_t) x_0, (1 - alpha-bar_t) I) (eq. 4), and from them the
    //    mean coefficients and variance beta-tilde of the posterior q(x_{t-1} | x_t, x_0)
    //    (eqs. 6-7), all in float64 on the host.
    const c = stepCoefficients(this.alphasCumprod, t, prevT);
    const meanCoef = posteriorMeanCoefficients(c.alphaProdT, c.alphaProdPrev);
    const betaTilde = Math.max(posteriorVariance(c.alphaProdT, c.alphaProdPrev), 1e-20);
    return tf.tidy(() => {
      const { prediction, varianceValues } = this._splitModelOutput(modelOutput, sample);
      // 2. x_0-hat from the model output; for eps, eq. 4 inverted (eq. 15). Steps 2-4 together
      //    are the eps-parameterised mean of eq. 11 when nothing is clipped.
      const { x0 } = this._predictX0AndEps(prediction, sample, c);
      // 3. Clip (or dynamically threshold) x_0-hat to the data range, as the paper's sampler does.
      const x0Hat = this._clipOrThreshold(x0);
      // 4. mu-tilde(x_t, x_0-hat) = x0Coef x_0-hat + xtCoef x_t (eq. 7).
      const mean = posteriorMean(x0Hat, sample, meanCoef);
      // 5. x_{t-1} = mu-tilde + sigma_t z, z ~ N(0, I), except z = 0 on the step that lands on
      //    x_0 (Algorithm 2, lines 3-4).
      if (prevT < 0) return { prevSample: mean, predOriginalSample: x0Hat };
      const sigma = this.#sigma(c, betaTilde, varianceValues);
      const prevSample = tf.add(mean, tf.mul(this._noise(sample, opts), sigma)) as tf.Tensor4D;
      return { prevSample, predOriginalSample: x0Hat };
    });
  }

  /** sigma_t, as a number for the fixed variance types and a tensor for the learned ones. */
  #sigma(
    c: { currentBetaT: number },
    betaTilde: number,
    varianceValues: tf.Tensor4D | null,
  ): number | tf.Tensor {
    switch (this.config.varianceType) {
      case "fixed_small":
      case "fixed_small_log":
        return Math.sqrt(betaTilde);
      case "fixed_large":
      case "fixed_large_log":
        return Math.sqrt(c.currentBetaT);
      case "learned":
        return tf.sqrt(varianceValues!);
      case "learned_range": {
        const frac = tf.div(tf.add(varianceValues!, 1), 2);
        const logVar = tf.add(
          tf.mul(frac, Math.log(c.currentBetaT)),
          tf.mul(tf.sub(1, frac), Math.log(betaTilde)),
        );
        return tf.exp(tf.mul(logVar, 0.5));
      }
    }
  }
}
