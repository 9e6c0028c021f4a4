/**
 * What {@linkcode DDPMScheduler} and {@linkcode DDIMScheduler} share: the schedule tables, the
 * forward process in closed form, inference timesteps, and the pieces of a reverse step that do
 * not depend on the sampler.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  resolveSchedulerConfig,
  schedulerConfigFromJson,
  schedulerConfigToJson,
} from "./config_io.ts";
import { extract } from "./extract.ts";
import {
  alphasFromBetas,
  checkTimestep,
  cumulativeProduct,
  forwardCoefficients,
  type StepCoefficients,
} from "./closed_forms.ts";
import { predictX0AndEps, qSample } from "./process_ops.ts";
import type { SchedulerConfig } from "./scheduler_config.ts";
import { makeBetas } from "./schedules.ts";
import { dynamicThreshold } from "./thresholding.ts";
import { inferenceTimesteps } from "./timesteps.ts";

/** Options of a scheduler's `step`. */
export interface SchedulerStepOptions {
  /** The standard normal noise z to add; same shape as the sample. Default: drawn fresh. */
  noise?: tf.Tensor4D;
  /** Seed for drawing z when `noise` is not given. Default: unseeded. */
  seed?: number;
  /** DDIM only: the noise scale eta of Song et al. (2021); 0 is deterministic. Default 0. */
  eta?: number;
  /** DDIM only: recompute eps from the clipped x_0, as diffusers' `use_clipped_model_output`. */
  useClippedModelOutput?: boolean;
}

/** The result of a scheduler's `step`. */
export interface SchedulerStepOutput {
  /** x_{t-1} (or the sample at the previous inference timestep), the next model input. */
  prevSample: tf.Tensor4D;
  /** The model's estimate of x_0 at this step, after clipping or thresholding. */
  predOriginalSample: tf.Tensor4D;
}

/**
 * The common base of the DDPM and DDIM schedulers. Schedule tables are float64 on the host;
 * each tensor method uploads what it needs as float32 and keeps no tensors between calls.
 *
 * @example Code that works with either scheduler
 * ```ts
 * import { DDIMScheduler, DDPMScheduler, type NoiseScheduler } from "@x/ddpm";
 * const describe = (s: NoiseScheduler) => `${s.className}: ${s.timesteps.length} steps`;
 * const ddim = new DDIMScheduler();
 * ddim.setTimesteps(50);
 * if (describe(ddim) !== "DDIMScheduler: 50 steps") throw new Error(describe(ddim));
 * if (describe(new DDPMScheduler()) !== "DDPMScheduler: 1000 steps") throw new Error("T steps");
 * ```
 */
export abstract class NoiseScheduler {
  /** The complete, checked configuration. */
  readonly config: Readonly<SchedulerConfig>;
  /** beta_t for t = 0 ... T - 1 (the paper's beta_1 ... beta_T). */
  readonly betas: Float64Array;
  /** alpha_t = 1 - beta_t. */
  readonly alphas: Float64Array;
  /** alpha-bar_t = prod_{s <= t} alpha_s. */
  readonly alphasCumprod: Float64Array;
  /** The timesteps `step` visits, descending. All T of them until {@linkcode setTimesteps}. */
  timesteps: Int32Array;
  /** How many timesteps `step` visits: T until {@linkcode setTimesteps}. */
  numInferenceSteps: number;
  #sqrtAlphaProd: Float32Array;
  #sqrtOneMinusAlphaProd: Float32Array;

  /**
   * Builds the schedule tables from a config; missing fields take the defaults of
   * {@linkcode DEFAULT_SCHEDULER_CONFIG}.
   *
   * @param config Some or all config fields, camelCase.
   */
  constructor(config: Partial<SchedulerConfig> = {}) {
    this.config = Object.freeze(resolveSchedulerConfig(config));
    this.betas = makeBetas(this.config);
    this.alphas = alphasFromBetas(this.betas);
    this.alphasCumprod = cumulativeProduct(this.alphas);
    // Cast once: the forward process reads these for every training batch.
    const forward = Array.from(this.alphasCumprod, forwardCoefficients);
    this.#sqrtAlphaProd = Float32Array.from(forward, (c) => c.sqrtAlphaProd);
    this.#sqrtOneMinusAlphaProd = Float32Array.from(forward, (c) => c.sqrtOneMinusAlphaProd);
    const T = this.config.numTrainTimesteps;
    this.numInferenceSteps = T;
    this.timesteps = Int32Array.from({ length: T }, (_, i) => T - 1 - i);
  }

  /** The diffusers class this scheduler corresponds to. */
  abstract readonly className: "DDPMScheduler" | "DDIMScheduler";

  /**
   * Loads a diffusers `scheduler_config.json` (snake_case) into the scheduler it is called on;
   * unknown keys are ignored.
   *
   * @param json The parsed JSON.
   * @returns The scheduler, of the class `fromConfig` was called on.
   * @throws {TypeError} or {RangeError} for an invalid value, naming the key and the value.
   *
   * @example
   * ```ts
   * import { DDIMScheduler, DDPMScheduler } from "@x/ddpm";
   * const s = DDPMScheduler.fromConfig({ _class_name: "DDPMScheduler", variance_type: "fixed_large" });
   * if (s.config.varianceType !== "fixed_large") throw new Error("not loaded");
   * const d = DDIMScheduler.fromConfig({ set_alpha_to_one: false, steps_offset: 1 });
   * if (d.finalAlphaCumprod === 1 || d.config.stepsOffset !== 1) throw new Error("not loaded");
   * ```
   */
  static fromConfig<S extends NoiseScheduler>(
    this: new (config: Partial<SchedulerConfig>) => S,
    json: Record<string, unknown>,
  ): S {
    return new this(schedulerConfigFromJson(json));
  }

  /**
   * The timestep that `step` from `t` lands on: the one after `t` in {@linkcode timesteps}
   * (-1 after the last one, meaning x_0), as diffusers' `previous_timestep`; for a `t` not in
   * that list, t - floor(T / n). A scheduler that always strides (DDIM) overrides it.
   *
   * @param t A timestep in [0, T).
   * @returns The timestep `step` lands on.
   * @throws {RangeError} when `t` is out of range.
   *
   * @example
   * ```ts
   * import { DDPMScheduler } from "@x/ddpm";
   * const s = new DDPMScheduler();
   * s.setTimesteps(50);
   * if (s.previousTimestep(980) !== 960 || s.previousTimestep(0) !== -1) throw new Error("wrong");
   * ```
   */
  previousTimestep(t: number): number {
    checkTimestep(t, this.config.numTrainTimesteps);
    const i = this.timesteps.indexOf(t);
    if (i >= 0) return i + 1 < this.timesteps.length ? this.timesteps[i + 1] : -1;
    return this._previousByStride(t);
  }

  /**
   * One reverse step from `sample` at timestep `t`, given the model's output there.
   *
   * @param modelOutput The model's prediction (eps, x_0 or v, per `predictionType`).
   * @param t The current timestep, in [0, T).
   * @param sample x_t.
   * @param opts Noise, seed, and DDIM's eta.
   * @returns The previous sample and the predicted x_0.
   */
  abstract step(
    modelOutput: tf.Tensor4D,
    t: number,
    sample: tf.Tensor4D,
    opts?: SchedulerStepOptions,
  ): SchedulerStepOutput;

  /**
   * Chooses the inference timesteps for sampling with `numInferenceSteps` model evaluations,
   * spaced by `config.timestepSpacing`.
   *
   * @param numInferenceSteps In [1, T].
   * @throws {RangeError} naming the value when it is out of range.
   *
   * @example
   * ```ts
   * import { DDPMScheduler } from "@x/ddpm";
   * const s = new DDPMScheduler({ timestepSpacing: "trailing" });
   * s.setTimesteps(4);
   * if (s.timesteps.join() !== "999,749,499,249") throw new Error(s.timesteps.join());
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    this.timesteps = inferenceTimesteps(numInferenceSteps, this.config);
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * The config in diffusers' `scheduler_config.json` form (snake_case, with `_class_name`).
   *
   * @returns A plain object ready for `JSON.stringify`.
   *
   * @example
   * ```ts
   * import { DDPMScheduler } from "@x/ddpm";
   * const json = new DDPMScheduler({ varianceType: "fixed_large" }).toConfig();
   * if (json.variance_type !== "fixed_large") throw new Error("not snake_case");
   * ```
   */
  toConfig(): Record<string, unknown> {
    return schedulerConfigToJson(this.config, this.className);
  }

  /**
   * Samples the forward process in closed form (eq. 4):
   * x_t = sqrt(alpha-bar_t) x_0 + sqrt(1 - alpha-bar_t) eps, with one t per batch element.
   *
   * @param x0 Clean samples, NHWC.
   * @param noise Standard normal noise, same shape.
   * @param t int32 timesteps, one per batch element (or one for all).
   * @returns x_t, same shape; NaN for an image whose timestep is outside [0, T) (checked on
   * the device: `t` is never read back, so this runs on GPU backends without a sync read).
   * @throws {TypeError} for mismatched shapes or non-int32 timesteps.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { DDPMScheduler, setBackend } from "@x/ddpm";
   * await setBackend("cpu");
   * const s = new DDPMScheduler();
   * const x0 = tf.ones([2, 1, 1, 1]) as tf.Tensor4D;
   * const xt = s.addNoise(x0, tf.zeros([2, 1, 1, 1]), tf.tensor1d([0, 999], "int32"));
   * const [a, b] = await xt.data();
   * if (Math.abs(a - Math.sqrt(s.alphasCumprod[0])) > 1e-6 || b > 0.01) throw new Error("wrong");
   * ```
   */
  addNoise(x0: tf.Tensor4D, noise: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
    this._checkBatch("addNoise", x0, noise, t);
    return tf.tidy(() =>
      qSample(x0, noise, {
        sqrtAlphaProd: extract(this.#sqrtAlphaProd, t, x0.rank),
        sqrtOneMinusAlphaProd: extract(this.#sqrtOneMinusAlphaProd, t, x0.rank),
      })
    );
  }

  /**
   * The velocity target of Salimans & Ho (2022):
   * v = sqrt(alpha-bar_t) eps - sqrt(1 - alpha-bar_t) x_0.
   *
   * @param x0 Clean samples, NHWC.
   * @param noise The noise that made x_t, same shape.
   * @param t int32 timesteps, one per batch element (or one for all).
   * @returns v, same shape; NaN for an image whose timestep is outside [0, T) (checked on the
   * device, as in {@linkcode addNoise}).
   * @throws {TypeError} for mismatched shapes or non-int32 timesteps.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { DDPMScheduler, setBackend } from "@x/ddpm";
   * await setBackend("cpu");
   * const s = new DDPMScheduler();
   * const v = s.getVelocity(tf.zeros([1, 1, 1, 1]), tf.ones([1, 1, 1, 1]), tf.tensor1d([999], "int32"));
   * if (Math.abs((await v.data())[0] - Math.sqrt(s.alphasCumprod[999])) > 1e-6) throw new Error("v");
   * ```
   */
  getVelocity(x0: tf.Tensor4D, noise: tf.Tensor4D, t: tf.Tensor1D): tf.Tensor4D {
    this._checkBatch("getVelocity", x0, noise, t);
    return tf.tidy(() =>
      tf.sub(
        tf.mul(extract(this.#sqrtAlphaProd, t, x0.rank), noise),
        tf.mul(extract(this.#sqrtOneMinusAlphaProd, t, x0.rank), x0),
      )
    );
  }

  /** t minus the stride floor(T / numInferenceSteps), or -1 (x_0) past the first timestep. */
  protected _previousByStride(t: number): number {
    return Math.max(t - Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps), -1);
  }

  /**
   * Checks the shapes and dtypes of addNoise/getVelocity's arguments. The timesteps' range is
   * checked on the device by `extract` (NaN out of range), never by reading `t` back.
   */
  protected _checkBatch(
    name: string,
    x0: tf.Tensor,
    noise: tf.Tensor,
    t: tf.Tensor1D,
  ): void {
    if (!tf.util.arraysEqual(x0.shape, noise.shape)) {
      throw new TypeError(
        `${name}: noise shape [${noise.shape}] must equal the sample shape [${x0.shape}]`,
      );
    }
    if (t.dtype !== "int32" || t.rank !== 1) {
      throw new TypeError(
        `${name}: timesteps must be an int32 tensor of rank 1, got ${t.dtype} of shape [${t.shape}]`,
      );
    }
    if (t.size !== x0.shape[0] && t.size !== 1) {
      throw new TypeError(
        `${name}: got ${t.size} timesteps for a batch of ${x0.shape[0]}; pass one per sample`,
      );
    }
  }

  /**
   * Splits a learned-variance model's output (2C channels, last axis) into the prediction and
   * the variance values; otherwise checks that it has the sample's shape.
   */
  protected _splitModelOutput(
    modelOutput: tf.Tensor4D,
    sample: tf.Tensor4D,
  ): { prediction: tf.Tensor4D; varianceValues: tf.Tensor4D | null } {
    const learned = this.config.varianceType === "learned" ||
      this.config.varianceType === "learned_range";
    const c = sample.shape[sample.rank - 1];
    const doubled = [...sample.shape.slice(0, -1), 2 * c];
    if (learned && tf.util.arraysEqual(modelOutput.shape, doubled)) {
      const [prediction, varianceValues] = tf.split(
        modelOutput,
        2,
        modelOutput.rank - 1,
      ) as tf.Tensor4D[];
      return { prediction, varianceValues };
    }
    if (!tf.util.arraysEqual(modelOutput.shape, sample.shape)) {
      throw new TypeError(
        `step: model output shape [${modelOutput.shape}] must equal the sample shape [${sample.shape}]` +
          (learned ? ` or [${doubled}] for varianceType "${this.config.varianceType}"` : ""),
      );
    }
    if (learned && this.className === "DDPMScheduler") {
      throw new TypeError(
        `step: varianceType "${this.config.varianceType}" needs a model output of shape [${doubled}] (prediction and variance values), got [${modelOutput.shape}]`,
      );
    }
    return { prediction: modelOutput, varianceValues: null };
  }

  /** x_0 and eps from the model output, whatever it predicts (see {@linkcode predictX0AndEps}). */
  protected _predictX0AndEps(
    prediction: tf.Tensor4D,
    sample: tf.Tensor4D,
    c: StepCoefficients,
  ): { x0: tf.Tensor4D; eps: tf.Tensor4D } {
    const forward = forwardCoefficients(c.alphaProdT);
    return predictX0AndEps(this.config.predictionType, prediction, sample, forward);
  }

  /** Dynamic thresholding when configured, else clipping when configured, else x_0 as is. */
  protected _clipOrThreshold(x0: tf.Tensor4D): tf.Tensor4D {
    if (this.config.thresholding) {
      return dynamicThreshold(x0, {
        ratio: this.config.dynamicThresholdingRatio,
        maxValue: this.config.sampleMaxValue,
      });
    }
    if (this.config.clipSample) {
      const r = this.config.clipSampleRange;
      return tf.clipByValue(x0, -r, r);
    }
    return x0;
  }

  /** `opts.noise` after a shape check, or fresh standard normal noise (seeded if asked). */
  protected _noise(sample: tf.Tensor4D, opts: SchedulerStepOptions): tf.Tensor4D {
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
