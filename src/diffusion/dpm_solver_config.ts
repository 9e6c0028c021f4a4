/**
 * The configuration of {@linkcode DPMSolverMultistepScheduler}: diffusers'
 * `DPMSolverMultistepScheduler` arguments in camelCase, with the same defaults, and reading
 * them from a `scheduler_config.json`.
 *
 * @module
 */
import { resolveSchedulerConfig } from "./config_io.ts";
import type {
  DPMSolverAlgorithm,
  DPMSolverTimestepSpacing,
  DPMSolverType,
  FinalSigmasType,
} from "./dpm_solver_math.ts";
import type {
  BetaSchedule,
  PredictionType,
  SchedulerConfig,
  VarianceType,
} from "./scheduler_config.ts";

/** Every knob of the DPM-Solver multistep scheduler. */
export interface DPMSolverConfig {
  /** Number of diffusion steps T used in training. Default 1000. */
  numTrainTimesteps: number;
  /** beta_1. Default 1e-4. */
  betaStart: number;
  /** beta_T. Default 0.02. */
  betaEnd: number;
  /** Default "linear". ("sigmoid" is accepted too, though diffusers' DPM-Solver lacks it.) */
  betaSchedule: BetaSchedule;
  /** Explicit betas, overriding the schedule. Default null. */
  trainedBetas: number[] | null;
  /**
   * The highest order of the multistep solver, 1 to 3. Default 2 (diffusers': best with
   * guidance). With "sde-dpmsolver++", order 3 uses diffusers' weight of the second difference,
   * (1 - e^-2h - 2h) / (2h)^2 - 1/2, whose 1/2 has the opposite sign to the ODE form's; on
   * Gaussian data it converges more slowly than order 2, so prefer 2 there.
   */
  solverOrder: number;
  /** What the model predicts. Default "epsilon". */
  predictionType: PredictionType;
  /** Dynamic thresholding of the predicted x_0 (Saharia et al. 2022). Default false. */
  thresholding: boolean;
  /** Quantile of |x_0| used by dynamic thresholding. Default 0.995. */
  dynamicThresholdingRatio: number;
  /** Upper bound of the dynamic threshold; 1 makes thresholding plain clipping to [-1, 1]. Default 1. */
  sampleMaxValue: number;
  /** Default "dpmsolver++" (Lu et al. 2022b); the "sde-" forms add noise at every step. */
  algorithmType: DPMSolverAlgorithm;
  /** How second-order steps use the previous output. Default "midpoint". */
  solverType: DPMSolverType;
  /** Lower the order over the last steps of runs shorter than 15 steps. Default true. */
  lowerOrderFinal: boolean;
  /** Take the last step with the first-order solver. Default false. */
  eulerAtFinal: boolean;
  /** Space the noise levels as Karras et al. (2022), rho = 7. Default false. */
  useKarrasSigmas: boolean;
  /** The noise level after the last step: "zero" (default) or the schedule's smallest. */
  finalSigmasType: FinalSigmasType;
  /** Timesteps whose lambda = log(alpha_t / sigma_t) is below this are skipped. Default -Infinity. */
  lambdaMinClipped: number;
  /**
   * "learned" or "learned_range" for models that also output a variance (the extra channels
   * are dropped); null (default) or any fixed type for models that do not.
   */
  varianceType: VarianceType | null;
  /** Default "linspace" (diffusers' default for this scheduler). */
  timestepSpacing: DPMSolverTimestepSpacing;
  /** Offset added to "leading" timesteps. Default 0. */
  stepsOffset: number;
  /** Rescale betas to zero terminal SNR (Lin et al. 2023). Default false. */
  rescaleBetasZeroSnr: boolean;
}

/** The defaults of {@linkcode DPMSolverConfig}: diffusers'. */
export const DEFAULT_DPM_SOLVER_CONFIG: Readonly<DPMSolverConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: "linear",
  trainedBetas: null,
  solverOrder: 2,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  algorithmType: "dpmsolver++",
  solverType: "midpoint",
  lowerOrderFinal: true,
  eulerAtFinal: false,
  useKarrasSigmas: false,
  finalSigmasType: "zero",
  lambdaMinClipped: -Infinity,
  varianceType: null,
  timestepSpacing: "linspace",
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
});

type Key = keyof DPMSolverConfig;
const KEYS = Object.keys(DEFAULT_DPM_SOLVER_CONFIG) as Key[];
const ALGORITHMS: readonly DPMSolverAlgorithm[] = [
  "dpmsolver++",
  "sde-dpmsolver++",
  "dpmsolver",
  "sde-dpmsolver",
];
const SOLVER_TYPES: readonly DPMSolverType[] = ["midpoint", "heun"];
const FINAL_SIGMAS: readonly FinalSigmasType[] = ["zero", "sigma_min"];
const VARIANCE_TYPES: readonly VarianceType[] = [
  "fixed_small",
  "fixed_small_log",
  "fixed_large",
  "fixed_large_log",
  "learned",
  "learned_range",
];
/** diffusers' noise-level options this scheduler does not implement: refused when switched on. */
const UNSUPPORTED_FLAGS = [
  "use_exponential_sigmas",
  "use_beta_sigmas",
  "use_lu_lambdas",
  "use_flow_sigmas",
  "use_dynamic_shifting",
];

function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

function fail(Err: typeof TypeError, key: Key, value: unknown, want: string): never {
  throw new Err(
    `Invalid DPM-Solver config: ${key} (${camelToSnake(key)}) = ${
      typeof value === "number" ? String(value) : JSON.stringify(value)
    }; expected ${want}`,
  );
}

function checkEnum(key: Key, v: unknown, options: readonly string[]): void {
  const want = `one of ${options.join(", ")}`;
  if (typeof v !== "string") fail(TypeError, key, v, want);
  if (!options.includes(v)) fail(RangeError, key, v, want);
}

function checkBoolean(key: Key, v: unknown): void {
  if (typeof v !== "boolean") fail(TypeError, key, v, "true or false");
}

/**
 * Fills in defaults and checks every field of a DPM-Solver config. The fields it shares with
 * {@linkcode SchedulerConfig} are checked as the DDPM scheduler checks them; other keys (such
 * as a DDPM config's `clipSample`) are ignored, so a DDPM or DDIM config can be passed as it is.
 *
 * @param partial Some or all fields; `undefined` means the default.
 * @returns A complete, checked config (a new object).
 * @throws {TypeError} for a value of the wrong type, naming the key and the value.
 * @throws {RangeError} for a value out of range, an unknown option, or a combination diffusers
 * has no formula for (final sigma "zero" with the noise-prediction solvers, order 3 with
 * "sde-dpmsolver").
 *
 * @example
 * ```ts
 * import { resolveDpmSolverConfig } from "@x/ddpm/diffusion";
 * const config = resolveDpmSolverConfig({ solverOrder: 3 });
 * if (config.timestepSpacing !== "linspace" || config.solverOrder !== 3) throw new Error("defaults");
 * let threw = false;
 * try { resolveDpmSolverConfig({ solverOrder: 4 }); } catch (e) { threw = e instanceof RangeError; }
 * if (!threw) throw new Error("solverOrder 4 should be rejected");
 * ```
 */
export function resolveDpmSolverConfig(
  partial: Partial<DPMSolverConfig> | Partial<SchedulerConfig> = {},
): DPMSolverConfig {
  const given = partial as Record<string, unknown>;
  const pick = (key: Key) => given[key] === undefined ? DEFAULT_DPM_SOLVER_CONFIG[key] : given[key];
  // The schedule and prediction fields: the shared checks of the DDPM/DDIM config.
  const shared = resolveSchedulerConfig({
    numTrainTimesteps: pick("numTrainTimesteps"),
    betaStart: pick("betaStart"),
    betaEnd: pick("betaEnd"),
    betaSchedule: pick("betaSchedule"),
    trainedBetas: pick("trainedBetas"),
    predictionType: pick("predictionType"),
    thresholding: pick("thresholding"),
    dynamicThresholdingRatio: pick("dynamicThresholdingRatio"),
    sampleMaxValue: pick("sampleMaxValue"),
    timestepSpacing: pick("timestepSpacing"),
    stepsOffset: pick("stepsOffset"),
    rescaleBetasZeroSnr: pick("rescaleBetasZeroSnr"),
  } as Partial<SchedulerConfig>);
  const order = pick("solverOrder");
  if (typeof order !== "number") fail(TypeError, "solverOrder", order, "1, 2 or 3");
  if (![1, 2, 3].includes(order)) fail(RangeError, "solverOrder", order, "1, 2 or 3");
  checkEnum("algorithmType", pick("algorithmType"), ALGORITHMS);
  checkEnum("solverType", pick("solverType"), SOLVER_TYPES);
  checkEnum("finalSigmasType", pick("finalSigmasType"), FINAL_SIGMAS);
  for (const key of ["lowerOrderFinal", "eulerAtFinal", "useKarrasSigmas"] as const) {
    checkBoolean(key, pick(key));
  }
  const lambdaMin = pick("lambdaMinClipped");
  if (typeof lambdaMin !== "number") {
    fail(TypeError, "lambdaMinClipped", lambdaMin, "a number (-Infinity for no clipping)");
  }
  if (Number.isNaN(lambdaMin) || lambdaMin === Infinity) {
    fail(RangeError, "lambdaMinClipped", lambdaMin, "a number below Infinity");
  }
  const variance = pick("varianceType");
  if (variance !== null) checkEnum("varianceType", variance, VARIANCE_TYPES);
  const config: DPMSolverConfig = {
    numTrainTimesteps: shared.numTrainTimesteps,
    betaStart: shared.betaStart,
    betaEnd: shared.betaEnd,
    betaSchedule: shared.betaSchedule,
    trainedBetas: shared.trainedBetas,
    solverOrder: order,
    predictionType: shared.predictionType,
    thresholding: shared.thresholding,
    dynamicThresholdingRatio: shared.dynamicThresholdingRatio,
    sampleMaxValue: shared.sampleMaxValue,
    algorithmType: pick("algorithmType") as DPMSolverAlgorithm,
    solverType: pick("solverType") as DPMSolverType,
    lowerOrderFinal: pick("lowerOrderFinal") as boolean,
    eulerAtFinal: pick("eulerAtFinal") as boolean,
    useKarrasSigmas: pick("useKarrasSigmas") as boolean,
    finalSigmasType: pick("finalSigmasType") as FinalSigmasType,
    lambdaMinClipped: lambdaMin,
    varianceType: variance as VarianceType | null,
    timestepSpacing: shared.timestepSpacing,
    stepsOffset: shared.stepsOffset,
    rescaleBetasZeroSnr: shared.rescaleBetasZeroSnr,
  };
  const noisePrediction = config.algorithmType === "dpmsolver" ||
    config.algorithmType === "sde-dpmsolver";
  if (noisePrediction && config.finalSigmasType === "zero") {
    throw new RangeError(
      `Invalid DPM-Solver config: finalSigmasType "zero" needs a data-prediction solver, but algorithmType is "${config.algorithmType}"; set finalSigmasType to "sigma_min" or use "dpmsolver++"`,
    );
  }
  if (config.algorithmType === "sde-dpmsolver" && config.solverOrder === 3) {
    throw new RangeError(
      'Invalid DPM-Solver config: "sde-dpmsolver" has no third-order update; use solverOrder 1 or 2, or "sde-dpmsolver++"',
    );
  }
  return config;
}

/**
 * Reads a diffusers `scheduler_config.json` object for the DPM-Solver scheduler (snake_case
 * keys; camelCase works too). Missing keys take diffusers' defaults, `null` means the default,
 * and keys it does not use are ignored, so the config of a DDPM or DDIM model can be read too,
 * as diffusers' `DPMSolverMultistepScheduler.from_config(ddpm.config)` does. The renamed
 * options diffusers maps on load are mapped the same way (`algorithm_type` "deis" to
 * "dpmsolver++", `solver_type` "logrho", "bh1", "bh2" to "midpoint"); noise-level options this
 * library does not implement (`use_exponential_sigmas`, `use_beta_sigmas`, `use_lu_lambdas`,
 * `use_flow_sigmas`, `use_dynamic_shifting`) are refused when true.
 *
 * @param json The parsed JSON.
 * @returns A complete, checked config.
 * @throws {TypeError} when `json` is not an object or a value has the wrong type.
 * @throws {RangeError} for a value out of range or an unsupported option, naming the key.
 *
 * @example
 * ```ts
 * import { dpmSolverConfigFromJson } from "@x/ddpm/diffusion";
 * const config = dpmSolverConfigFromJson({
 *   _class_name: "DPMSolverMultistepScheduler", solver_order: 3, use_karras_sigmas: true,
 *   variance_type: null, lambda_min_clipped: null,
 * });
 * if (config.solverOrder !== 3 || !config.useKarrasSigmas) throw new Error("not read");
 * ```
 */
export function dpmSolverConfigFromJson(json: Record<string, unknown>): DPMSolverConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new TypeError(
      `Cannot read a scheduler config from ${JSON.stringify(json)}: expected a JSON object`,
    );
  }
  for (const key of UNSUPPORTED_FLAGS) {
    if (json[key] === true) {
      throw new RangeError(
        `Invalid DPM-Solver config: ${key} = true is not supported; set it to false (or use use_karras_sigmas)`,
      );
    }
  }
  const partial: Record<string, unknown> = {};
  for (const key of KEYS) {
    const snake = camelToSnake(key);
    const value = snake in json ? json[snake] : json[key];
    if (value === undefined || (value === null && key !== "trainedBetas")) continue;
    partial[key] = value;
  }
  if (partial.algorithmType === "deis") partial.algorithmType = "dpmsolver++";
  if (["logrho", "bh1", "bh2"].includes(partial.solverType as string)) {
    partial.solverType = "midpoint";
  }
  return resolveDpmSolverConfig(partial as Partial<DPMSolverConfig>);
}

/**
 * The DPM-Solver++ settings for a model trained with a DDPM/DDIM scheduler config: its noise
 * schedule, prediction type, variance type and thresholding, with DPM-Solver's own defaults
 * for the rest (timestep spacing "linspace", order 2). A model sampled with clipping of x_0
 * to [-1, 1] (`clipSample`, the paper's sampler) gets dynamic thresholding with
 * `sampleMaxValue` 1, which is that same clipping.
 *
 * @param config The model's scheduler config, camelCase.
 * @returns A config for {@linkcode DPMSolverMultistepScheduler}.
 *
 * @example
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { dpmSolverConfigForModel } from "@x/ddpm/diffusion";
 * const config = dpmSolverConfigForModel(presets.cifar10.scheduler);
 * if (config.betaEnd !== presets.cifar10.scheduler.betaEnd) throw new Error("schedule lost");
 * ```
 */
export function dpmSolverConfigForModel(
  config: Partial<SchedulerConfig>,
): Partial<DPMSolverConfig> {
  const clip = config.clipSample !== false && (config.clipSampleRange ?? 1) === 1;
  const threshold = config.thresholding === true;
  return {
    numTrainTimesteps: config.numTrainTimesteps,
    betaStart: config.betaStart,
    betaEnd: config.betaEnd,
    betaSchedule: config.betaSchedule,
    trainedBetas: config.trainedBetas,
    predictionType: config.predictionType,
    varianceType: config.varianceType,
    rescaleBetasZeroSnr: config.rescaleBetasZeroSnr,
    thresholding: threshold || clip,
    dynamicThresholdingRatio: threshold ? config.dynamicThresholdingRatio : undefined,
    sampleMaxValue: threshold ? config.sampleMaxValue : 1,
  };
}

/**
 * The DDPM/DDIM settings of a model whose scheduler is configured for DPM-Solver (a diffusers
 * folder saved with a `DPMSolverMultistepScheduler`): its noise schedule, prediction type and
 * thresholding, with DDPM's defaults for the rest.
 *
 * @param config A DPM-Solver config.
 * @returns Fields for {@linkcode DDPMScheduler} or {@linkcode DDIMScheduler}.
 *
 * @example
 * ```ts
 * import { DDPMScheduler } from "@x/ddpm";
 * import { dpmSolverConfigFromJson, schedulerConfigFromDpmSolver } from "@x/ddpm/diffusion";
 * const dpm = dpmSolverConfigFromJson({ beta_schedule: "squaredcos_cap_v2", variance_type: null });
 * const ddpm = new DDPMScheduler(schedulerConfigFromDpmSolver(dpm));
 * if (ddpm.config.betaSchedule !== "squaredcos_cap_v2") throw new Error("schedule lost");
 * ```
 */
export function schedulerConfigFromDpmSolver(config: DPMSolverConfig): Partial<SchedulerConfig> {
  return {
    numTrainTimesteps: config.numTrainTimesteps,
    betaStart: config.betaStart,
    betaEnd: config.betaEnd,
    betaSchedule: config.betaSchedule,
    trainedBetas: config.trainedBetas,
    predictionType: config.predictionType,
    varianceType: config.varianceType ?? undefined,
    thresholding: config.thresholding,
    dynamicThresholdingRatio: config.dynamicThresholdingRatio,
    sampleMaxValue: config.sampleMaxValue,
    rescaleBetasZeroSnr: config.rescaleBetasZeroSnr,
  };
}

/**
 * Writes a config in diffusers' `scheduler_config.json` form: `_class_name`, then the fields in
 * snake_case. `lambda_min_clipped` is left out while it is -Infinity (diffusers' default),
 * which JSON cannot hold.
 *
 * @param config A complete config.
 * @returns A plain object ready for `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { DEFAULT_DPM_SOLVER_CONFIG, dpmSolverConfigToJson } from "@x/ddpm/diffusion";
 * const json = dpmSolverConfigToJson(DEFAULT_DPM_SOLVER_CONFIG);
 * if (json.solver_order !== 2 || "lambda_min_clipped" in json) throw new Error("wrong json");
 * ```
 */
export function dpmSolverConfigToJson(config: DPMSolverConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { _class_name: "DPMSolverMultistepScheduler" };
  for (const key of KEYS) {
    const value = config[key];
    if (key === "lambdaMinClipped" && !Number.isFinite(value)) continue;
    out[camelToSnake(key)] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}
