/**
 * DPM-Solver++ multistep sampling (Lu et al. 2022b) with diffusers'
 * `DPMSolverMultistepScheduler` surface: good samples in 15-25 model evaluations.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { alphasFromBetas, cumulativeProduct } from "./closed_forms.ts";
import {
  type DPMSolverConfig,
  dpmSolverConfigFromJson,
  dpmSolverConfigToJson,
  resolveDpmSolverConfig,
} from "./dpm_solver_config.ts";
import {
  dpmSolverOrder,
  dpmSolverSchedule,
  dpmSolverUpdate,
  vpFromSigma,
} from "./dpm_solver_math.ts";
import type { SchedulerConfig } from "./scheduler_config.ts";
import { makeBetas } from "./schedules.ts";
import { dynamicThreshold } from "./thresholding.ts";

/** Options of {@linkcode DPMSolverMultistepScheduler.step}. */
export interface DPMSolverStepOptions {
  /** SDE solvers only: the standard normal noise z of this step, same shape as the sample. */
  noise?: tf.Tensor4D;
  /** SDE solvers only: seed for drawing z when `noise` is not given. Default: unseeded. */
  seed?: number;
  /** Ignored (DDIM's eta), so that sampling loops can pass the same options to any scheduler. */
  eta?: number;
}

/**
 * The multistep DPM-Solver of Lu et al. (2022a, 2022b), diffusers' default fast sampler:
 * each step moves from noise level sigma_s to sigma_t along the diffusion ODE (or SDE) with an
 * exponential integrator in the half log-SNR lambda, reusing the model outputs of the last one
 * or two steps for second or third order accuracy. Config, defaults and numbers follow
 * diffusers' `DPMSolverMultistepScheduler` (see {@linkcode DPMSolverConfig}); schedule tables
 * and step weights are float64 on the host, tensors float32.
 *
 * It keeps the last `solverOrder` converted model outputs between calls to `step`: call
 * {@linkcode setTimesteps} before each sampling run (it frees them), and step through
 * {@linkcode timesteps} in order, once each, with the whole batch. The history is freed after
 * the last step, or by {@linkcode reset}.
 *
 * @example Sampling in 20 steps
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { DPMSolverMultistepScheduler, setBackend } from "@x/ddpm";
 * await setBackend("cpu");
 * const s = new DPMSolverMultistepScheduler();
 * s.setTimesteps(20);
 * let x = tf.randomNormal([1, 2, 2, 1], 0, 1, "float32", 0) as tf.Tensor4D;
 * for (const t of s.timesteps) {
 *   const eps = tf.zeros(x.shape) as tf.Tensor4D; // stands in for unet.predict(x, t)
 *   const { prevSample, predOriginalSample } = s.step(eps, t, x);
 *   tf.dispose([x, eps, predOriginalSample]);
 *   x = prevSample;
 * }
 * // The model says "no noise", so x_0 is x_T scaled by alpha at t = 999.
 * if (x.shape.join() !== "1,2,2,1") throw new Error("wrong shape");
 * ```
 */
export class DPMSolverMultistepScheduler {
  /** The diffusers class this scheduler corresponds to. */
  readonly className: "DPMSolverMultistepScheduler" = "DPMSolverMultistepScheduler";
  /** The complete, checked configuration. */
  readonly config: Readonly<DPMSolverConfig>;
  /** beta_t for t = 0 ... T - 1. */
  readonly betas: Float64Array;
  /** alpha-bar_t (the last one 2^-24 with `rescaleBetasZeroSnr`, as diffusers, so sigma stays finite). */
  readonly alphasCumprod: Float64Array;
  /** The timesteps the model is evaluated at, descending. All T of them until {@linkcode setTimesteps}. */
  timesteps: Int32Array;
  /** sigma (sqrt((1 - alpha-bar) / alpha-bar)) at each of `timesteps`, then the level after the last step. */
  sigmas: Float64Array;
  /** How many steps a run takes: `timesteps.length` after {@linkcode setTimesteps}, else 0. */
  numInferenceSteps = 0;
  #stepIndex: number | null = null;
  #previousSteps = 0;
  #outputs: tf.Tensor4D[] = [];

  /**
   * Builds the schedule from a config; missing fields take diffusers' defaults. A DDPM or DDIM
   * {@linkcode SchedulerConfig} can be passed as it is: the fields this scheduler lacks
   * (`clipSample`, `setAlphaToOne`) are ignored. {@linkcode dpmSolverConfigForModel} keeps
   * clipping as thresholding.
   *
   * @param config Some or all fields of {@linkcode DPMSolverConfig}.
   * @throws {TypeError} or {RangeError} for an invalid field, naming it and its value.
   */
  constructor(config: Partial<DPMSolverConfig> | Partial<SchedulerConfig> = {}) {
    this.config = Object.freeze(resolveDpmSolverConfig(config));
    this.betas = makeBetas(this.config);
    this.alphasCumprod = cumulativeProduct(alphasFromBetas(this.betas));
    // diffusers: close to 0 without being 0, so that the first sigma is not infinite.
    if (this.config.rescaleBetasZeroSnr) {
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
    const T = this.config.numTrainTimesteps;
    this.timesteps = Int32Array.from({ length: T }, (_, i) => T - 1 - i);
    this.sigmas = Float64Array.from(this.alphasCumprod, (a) => Math.sqrt((1 - a) / a)).reverse();
  }

  /**
   * Loads a diffusers `scheduler_config.json` (see {@linkcode dpmSolverConfigFromJson}).
   *
   * @param json The parsed JSON.
   * @returns The scheduler.
   * @throws {TypeError} or {RangeError} for an invalid value, naming the key and the value.
   *
   * @example
   * ```ts
   * import { DPMSolverMultistepScheduler } from "@x/ddpm";
   * const s = DPMSolverMultistepScheduler.fromConfig({ solver_order: 3, timestep_spacing: "trailing" });
   * if (s.config.solverOrder !== 3 || s.config.timestepSpacing !== "trailing") throw new Error("not loaded");
   * ```
   */
  static fromConfig(json: Record<string, unknown>): DPMSolverMultistepScheduler {
    return new DPMSolverMultistepScheduler(dpmSolverConfigFromJson(json));
  }

  /**
   * The config in diffusers' `scheduler_config.json` form (snake_case, with `_class_name`).
   *
   * @returns A plain object ready for `JSON.stringify`.
   *
   * @example
   * ```ts
   * import { DPMSolverMultistepScheduler } from "@x/ddpm";
   * const json = new DPMSolverMultistepScheduler({ useKarrasSigmas: true }).toConfig();
   * if (json.use_karras_sigmas !== true) throw new Error("not snake_case");
   * ```
   */
  toConfig(): Record<string, unknown> {
    return dpmSolverConfigToJson(this.config);
  }

  /**
   * Chooses the timesteps and noise levels of a sampling run (see {@linkcode dpmSolverSchedule})
   * and forgets any earlier run's model outputs. With "trailing" spacing and lambda clipping
   * a run can have fewer than `numInferenceSteps` steps; `timesteps` is what counts.
   *
   * @param numInferenceSteps In [1, T]; about 20 is diffusers' usual choice.
   * @throws {RangeError} naming the value when it is out of range.
   *
   * @example
   * ```ts
   * import { DPMSolverMultistepScheduler } from "@x/ddpm";
   * const s = new DPMSolverMultistepScheduler();
   * s.setTimesteps(4);
   * if (s.timesteps.join() !== "999,749,500,250" || s.sigmas[4] !== 0) throw new Error("wrong");
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const { timesteps, sigmas } = dpmSolverSchedule(
      this.alphasCumprod,
      numInferenceSteps,
      this.config,
    );
    this.reset();
    this.timesteps = timesteps;
    this.sigmas = sigmas;
    this.numInferenceSteps = timesteps.length;
  }

  /**
   * Frees the model outputs kept from earlier steps and starts over at the first timestep.
   *
   * @example
   * ```ts
   * import { DPMSolverMultistepScheduler } from "@x/ddpm";
   * const s = new DPMSolverMultistepScheduler();
   * s.setTimesteps(10);
   * s.reset();
   * if (s.stepIndex !== null) throw new Error("not reset");
   * ```
   */
  reset(): void {
    tf.dispose(this.#outputs);
    this.#outputs = [];
    this.#stepIndex = null;
    this.#previousSteps = 0;
  }

  /** The index in {@linkcode timesteps} of the next step, or null before the first. */
  get stepIndex(): number | null {
    return this.#stepIndex;
  }

  /**
   * One multistep DPM-Solver step from `sample` at timestep `t` (sigmas[i]) to the next noise
   * level (sigmas[i + 1]):
   *
   * 1. convert the model output to what the solver integrates: x_0 for "dpmsolver++" (eps:
   *    (x - sigma_t eps) / alpha_t; v: alpha_t x - sigma_t v), eps for "dpmsolver", with
   *    dynamic thresholding of x_0 when configured;
   * 2. choose the order ({@linkcode dpmSolverOrder}): 1 until there is history, lower at the end;
   * 3. x_next = a x + sum_k b_k m_k (+ c z for the SDE solvers), the weights of
   *    {@linkcode dpmSolverUpdate}.
   *
   * @param modelOutput The model's prediction for `sample`, per `predictionType` (with a
   * learned variance type, the extra variance channels are dropped).
   * @param t The current timestep: `timesteps[i]` for the i-th call since {@linkcode setTimesteps}.
   * The first call may start partway (at the first step with that timestep, or the second if
   * it is repeated, as diffusers).
   * @param sample x_t, NHWC.
   * @param opts The SDE solvers' noise or seed.
   * @returns The sample at the next noise level and the predicted x_0 (both the caller's to
   * dispose; the scheduler keeps its own copy of what it needs).
   * @throws {RangeError} when `setTimesteps` was not called, `t` is not the expected timestep,
   * or the run is over.
   * @throws {TypeError} when shapes do not match.
   *
   * @example The SDE solver with given noise is deterministic
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { DPMSolverMultistepScheduler, setBackend } from "@x/ddpm";
   * await setBackend("cpu");
   * const s = new DPMSolverMultistepScheduler({ algorithmType: "sde-dpmsolver++" });
   * const x = tf.ones([1, 1, 1, 2]) as tf.Tensor4D;
   * s.setTimesteps(5);
   * const a = s.step(x, 999, x, { noise: x }).prevSample;
   * s.setTimesteps(5);
   * const b = s.step(x, 999, x, { noise: x }).prevSample;
   * if ((await a.data()).join() !== (await b.data()).join()) throw new Error("not deterministic");
   * ```
   */
  step(
    modelOutput: tf.Tensor4D,
    t: number,
    sample: tf.Tensor4D,
    opts: DPMSolverStepOptions = {},
  ): { prevSample: tf.Tensor4D; predOriginalSample: tf.Tensor4D } {
    const i = this._indexFor(t);
    const n = this.timesteps.length;
    const order = dpmSolverOrder(i, n, this.#previousSteps, this.config);
    const levels = [this.sigmas[i], this.sigmas[i - 1], this.sigmas[i - 2]].slice(0, order);
    const update = dpmSolverUpdate(order, levels, this.sigmas[i + 1], this.config);
    const sde = this.config.algorithmType.startsWith("sde-");
    const prediction = this._prediction(modelOutput, sample);
    const noise = sde ? this._noise(sample, opts) : null;
    const { alpha, sigma } = vpFromSigma(this.sigmas[i]);
    const [converted, x0, prev] = tf.tidy(() => {
      const { m, x0 } = this._convert(prediction, sample, alpha, sigma);
      const history = [m, ...this.#outputs.slice(0, order - 1)];
      let next = tf.mul(sample, update.sample);
      history.forEach((h, k) => {
        next = tf.add(next, tf.mul(h, update.outputs[k]));
      });
      if (noise) next = tf.add(next, tf.mul(noise, update.noise));
      return [tf.clone(m) as tf.Tensor4D, x0, next as tf.Tensor4D];
    });
    if (prediction !== modelOutput) prediction.dispose();
    if (noise && noise !== opts.noise) noise.dispose();
    // Newest first; keep only what a step of the highest order reads.
    this.#outputs.unshift(tf.keep(converted));
    tf.dispose(this.#outputs.splice(this.config.solverOrder - 1));
    this.#previousSteps = Math.min(this.#previousSteps + 1, this.config.solverOrder);
    this.#stepIndex = i + 1;
    if (this.#stepIndex === n) this.reset();
    return { prevSample: prev, predOriginalSample: x0 };
  }

  /** The index of this step, checking `t` against the schedule. */
  protected _indexFor(t: number): number {
    if (this.numInferenceSteps === 0) {
      throw new RangeError("step: call setTimesteps(numInferenceSteps) before the first step");
    }
    const ts = this.timesteps;
    if (this.#stepIndex === null) {
      const first = ts.indexOf(t);
      if (first < 0) {
        throw new RangeError(
          `step: timestep ${t} is not one of this run's timesteps (${ts[0]} ... ${
            ts[ts.length - 1]
          }); step through scheduler.timesteps`,
        );
      }
      const second = ts.indexOf(t, first + 1);
      return second < 0 ? first : second;
    }
    const i = this.#stepIndex;
    if (ts[i] !== t) {
      throw new RangeError(
        `step: expected timestep ${ts[i]} (step ${i + 1} of ${ts.length}), got ${t}; ` +
          "step through scheduler.timesteps in order, or call setTimesteps to start over",
      );
    }
    return i;
  }

  /** The prediction channels of the model output, after a shape check. */
  protected _prediction(modelOutput: tf.Tensor4D, sample: tf.Tensor4D): tf.Tensor4D {
    const c = sample.shape[3];
    const learned = this.config.varianceType === "learned" ||
      this.config.varianceType === "learned_range";
    if (learned && modelOutput.shape[3] === 2 * c && modelOutput.shape[0] === sample.shape[0]) {
      return tf.slice(modelOutput, [0, 0, 0, 0], [-1, -1, -1, c]);
    }
    if (!tf.util.arraysEqual(modelOutput.shape, sample.shape)) {
      throw new TypeError(
        `step: model output shape [${modelOutput.shape}] must equal the sample shape [${sample.shape}]` +
          (learned
            ? ` or have ${2 * c} channels for varianceType "${this.config.varianceType}"`
            : ""),
      );
    }
    return modelOutput;
  }

  /** The model output as the solver's m (x_0 or eps), and the predicted x_0. */
  protected _convert(
    prediction: tf.Tensor4D,
    x: tf.Tensor4D,
    alpha: number,
    sigma: number,
  ): { m: tf.Tensor4D; x0: tf.Tensor4D } {
    const type = this.config.predictionType;
    let x0: tf.Tensor4D = type === "epsilon"
      ? tf.div(tf.sub(x, tf.mul(prediction, sigma)), alpha)
      : type === "sample"
      ? prediction
      : tf.sub(tf.mul(x, alpha), tf.mul(prediction, sigma));
    if (this.config.thresholding) {
      x0 = dynamicThreshold(x0, {
        ratio: this.config.dynamicThresholdingRatio,
        maxValue: this.config.sampleMaxValue,
      });
    }
    const data = this.config.algorithmType.endsWith("++");
    if (data) return { m: x0, x0: tf.clone(x0) };
    // DPM-Solver integrates eps: as predicted, or recomputed from the (thresholded) x_0.
    const eps = type === "epsilon" && !this.config.thresholding
      ? prediction
      : tf.div(tf.sub(x, tf.mul(x0, alpha)), sigma) as tf.Tensor4D;
    return { m: eps, x0 };
  }

  /** `opts.noise` after a shape check, or fresh standard normal noise (seeded if asked). */
  protected _noise(sample: tf.Tensor4D, opts: DPMSolverStepOptions): tf.Tensor4D {
    if (opts.noise !== undefined) {
      if (!tf.util.arraysEqual(opts.noise.shape, sample.shape)) {
        throw new TypeError(
          `step: noise shape [${opts.noise.shape}] must equal the sample shape [${sample.shape}]`,
        );
      }
      return opts.noise;
    }
    return tf.randomNormal(sample.shape, 0, 1, "float32", opts.seed);
  }
}
