/**
 * The configuration shared by {@linkcode DDPMScheduler} and {@linkcode DDIMScheduler}: the
 * fields of diffusers' `DDPMScheduler`, in camelCase, with the same defaults.
 *
 * @module
 */

/** How betas are laid out over the training timesteps. */
export type BetaSchedule = "linear" | "scaled_linear" | "squaredcos_cap_v2" | "sigmoid";

/** What the reverse step uses as the variance of p(x_{t-1} | x_t). */
export type VarianceType =
  | "fixed_small"
  | "fixed_small_log"
  | "fixed_large"
  | "fixed_large_log"
  | "learned"
  | "learned_range";

/** What the model predicts: the noise, x_0 itself, or the velocity of Salimans & Ho (2022). */
export type PredictionType = "epsilon" | "sample" | "v_prediction";

/** How inference timesteps are spread over [0, numTrainTimesteps). */
export type TimestepSpacing = "linspace" | "leading" | "trailing";

/** Every knob of the DDPM and DDIM schedulers. */
export interface SchedulerConfig {
  /** Number of diffusion steps T used in training. Default 1000 (the paper). */
  numTrainTimesteps: number;
  /** beta_1. Default 1e-4 (the paper). */
  betaStart: number;
  /** beta_T. Default 0.02 (the paper). */
  betaEnd: number;
  /** Default "linear" (the paper). */
  betaSchedule: BetaSchedule;
  /** Explicit betas, overriding the schedule. Default null. */
  trainedBetas: number[] | null;
  /** Default "fixed_small" (sigma_t^2 = beta-tilde_t, the paper's choice for CelebA-HQ/LSUN). */
  varianceType: VarianceType;
  /** Clip the predicted x_0 to [-clipSampleRange, clipSampleRange]. Default true. */
  clipSample: boolean;
  /** Default 1.0. */
  clipSampleRange: number;
  /** Default "epsilon" (the paper's L_simple). */
  predictionType: PredictionType;
  /** Dynamic thresholding of Saharia et al. (2022). Default false. */
  thresholding: boolean;
  /** Quantile of |x_0| used by dynamic thresholding. Default 0.995. */
  dynamicThresholdingRatio: number;
  /** Upper bound of the dynamic threshold. Default 1.0. */
  sampleMaxValue: number;
  /** Default "leading" (diffusers' default). */
  timestepSpacing: TimestepSpacing;
  /** Offset added to inference timesteps with "leading" spacing. Default 0. */
  stepsOffset: number;
  /** Rescale betas to zero terminal SNR (Lin et al. 2023). Default false. */
  rescaleBetasZeroSnr: boolean;
  /** DDIM only: use alpha_cumprod = 1 for the step before t = 0. Default true. */
  setAlphaToOne: boolean;
}

/** The defaults of {@linkcode SchedulerConfig}: the paper's, and diffusers' for the rest. */
export const DEFAULT_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: "linear",
  trainedBetas: null,
  varianceType: "fixed_small",
  clipSample: true,
  clipSampleRange: 1.0,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  timestepSpacing: "leading",
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
  setAlphaToOne: true,
});
