/**
 * Reading, checking and writing scheduler configs: camelCase {@linkcode SchedulerConfig}
 * objects here, snake_case `scheduler_config.json` files in diffusers.
 *
 * @module
 */
import {
  type BetaSchedule,
  DEFAULT_SCHEDULER_CONFIG,
  type PredictionType,
  type SchedulerConfig,
  type TimestepSpacing,
  type VarianceType,
} from "./scheduler_config.ts";

const BETA_SCHEDULES: readonly BetaSchedule[] = [
  "linear",
  "scaled_linear",
  "squaredcos_cap_v2",
  "sigmoid",
];
const VARIANCE_TYPES: readonly VarianceType[] = [
  "fixed_small",
  "fixed_small_log",
  "fixed_large",
  "fixed_large_log",
  "learned",
  "learned_range",
];
const PREDICTION_TYPES: readonly PredictionType[] = ["epsilon", "sample", "v_prediction"];
const SPACINGS: readonly TimestepSpacing[] = ["linspace", "leading", "trailing"];

type Key = keyof SchedulerConfig;
const KEYS = Object.keys(DEFAULT_SCHEDULER_CONFIG) as Key[];

/** `"num_train_timesteps"` -> `"numTrainTimesteps"`; camelCase keys pass through unchanged. */
function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `"numTrainTimesteps"` -> `"num_train_timesteps"`. */
function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/**
 * The most diffusion steps a scheduler config may ask for: every schedule array is allocated
 * at this length, so a hostile `num_train_timesteps: 1e9` is refused instead of taking
 * gigabytes. The paper uses 1000; published models use at most 4000.
 *
 * @example
 * ```ts
 * import { MAX_TRAIN_TIMESTEPS } from "@x/ddpm";
 * import { resolveSchedulerConfig } from "@x/ddpm/diffusion";
 * let threw = false;
 * try {
 *   resolveSchedulerConfig({ numTrainTimesteps: MAX_TRAIN_TIMESTEPS + 1 });
 * } catch (e) {
 *   threw = e instanceof RangeError;
 * }
 * if (!threw) throw new Error("accepted a timestep count over the cap");
 * ```
 */
export const MAX_TRAIN_TIMESTEPS = 100_000;

function fail(Err: typeof TypeError, key: Key, value: unknown, want: string): never {
  let shown: string;
  try {
    shown = JSON.stringify(value) ?? String(value);
  } catch {
    shown = String(value);
  }
  throw new Err(`Invalid scheduler config: ${key} (${camelToSnake(key)}) = ${shown}; ${want}`);
}

function checkNumber(key: Key, v: unknown, ok: (x: number) => boolean, want: string): void {
  if (typeof v !== "number") fail(TypeError, key, v, `expected a number ${want}`);
  if (!Number.isFinite(v) || !ok(v)) fail(RangeError, key, v, `expected a number ${want}`);
}

function checkEnum(key: Key, v: unknown, options: readonly string[]): void {
  if (typeof v !== "string") fail(TypeError, key, v, `expected one of ${options.join(", ")}`);
  if (!options.includes(v)) fail(RangeError, key, v, `expected one of ${options.join(", ")}`);
}

function checkBoolean(key: Key, v: unknown): void {
  if (typeof v !== "boolean") fail(TypeError, key, v, "expected true or false");
}

const VALIDATORS: Record<Key, (v: unknown) => void> = {
  numTrainTimesteps: (v) =>
    checkNumber(
      "numTrainTimesteps",
      v,
      (x) => Number.isInteger(x) && x >= 1 && x <= MAX_TRAIN_TIMESTEPS,
      `integer in [1, ${MAX_TRAIN_TIMESTEPS}]`,
    ),
  betaStart: (v) => checkNumber("betaStart", v, (x) => x > 0 && x < 1, "in (0, 1)"),
  betaEnd: (v) => checkNumber("betaEnd", v, (x) => x > 0 && x < 1, "in (0, 1)"),
  betaSchedule: (v) => checkEnum("betaSchedule", v, BETA_SCHEDULES),
  trainedBetas: (v) => {
    if (v === null) return;
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) {
      fail(TypeError, "trainedBetas", v, "expected null or an array of numbers");
    }
    for (const b of v as ArrayLike<unknown> & Iterable<unknown>) {
      if (typeof b !== "number") {
        fail(TypeError, "trainedBetas", b, "expected every beta to be a number");
      }
      if (!(b > 0 && b <= 1)) fail(RangeError, "trainedBetas", b, "expected every beta in (0, 1]");
    }
  },
  varianceType: (v) => checkEnum("varianceType", v, VARIANCE_TYPES),
  clipSample: (v) => checkBoolean("clipSample", v),
  clipSampleRange: (v) => checkNumber("clipSampleRange", v, (x) => x > 0, "> 0"),
  predictionType: (v) => checkEnum("predictionType", v, PREDICTION_TYPES),
  thresholding: (v) => checkBoolean("thresholding", v),
  dynamicThresholdingRatio: (v) =>
    checkNumber("dynamicThresholdingRatio", v, (x) => x > 0 && x <= 1, "in (0, 1]"),
  sampleMaxValue: (v) => checkNumber("sampleMaxValue", v, (x) => x > 0, "> 0"),
  timestepSpacing: (v) => checkEnum("timestepSpacing", v, SPACINGS),
  stepsOffset: (v) =>
    checkNumber("stepsOffset", v, (x) => Number.isInteger(x) && x >= 0, "integer >= 0"),
  rescaleBetasZeroSnr: (v) => checkBoolean("rescaleBetasZeroSnr", v),
  setAlphaToOne: (v) => checkBoolean("setAlphaToOne", v),
};

/**
 * Fills in defaults and checks every field of a camelCase scheduler config. Keys that are
 * not fields of {@linkcode SchedulerConfig} are ignored; `undefined` means "the default".
 *
 * @param partial Some or all fields.
 * @returns A complete, checked config (a new object; `trainedBetas` copied).
 * @throws {TypeError} for a value of the wrong type, naming the key and the value.
 * @throws {RangeError} for a value out of range or an unknown option, naming both.
 *
 * @example
 * ```ts
 * import { resolveSchedulerConfig } from "@x/ddpm/diffusion";
 * const config = resolveSchedulerConfig({ betaSchedule: "scaled_linear" });
 * if (config.numTrainTimesteps !== 1000) throw new Error("default missing");
 * let threw = false;
 * try { resolveSchedulerConfig({ betaEnd: 2 }); } catch (e) { threw = e instanceof RangeError; }
 * if (!threw) throw new Error("betaEnd = 2 should be rejected");
 * ```
 */
export function resolveSchedulerConfig(partial: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const out = { ...DEFAULT_SCHEDULER_CONFIG } as Record<Key, unknown>;
  const given = partial as Record<string, unknown>;
  for (const key of KEYS) {
    if (given[key] === undefined) continue;
    VALIDATORS[key](given[key]);
    out[key] = given[key];
  }
  const config = out as unknown as SchedulerConfig;
  // Every timestep, offset included, must be one of the T the model was trained on.
  if (config.stepsOffset >= config.numTrainTimesteps) {
    throw new RangeError(
      `Invalid scheduler config: stepsOffset must be below numTrainTimesteps ` +
        `(${config.numTrainTimesteps}): got ${config.stepsOffset}`,
    );
  }
  if (config.trainedBetas !== null) {
    config.trainedBetas = Array.from(config.trainedBetas);
    if (config.trainedBetas.length !== config.numTrainTimesteps) {
      throw new RangeError(
        `Invalid scheduler config: trainedBetas has ${config.trainedBetas.length} values but numTrainTimesteps is ${config.numTrainTimesteps}; make them equal`,
      );
    }
  }
  return config;
}

/**
 * Reads a diffusers `scheduler_config.json` object (snake_case keys; camelCase keys work too).
 * Keys this library does not use, such as `_class_name` and `_diffusers_version`, are
 * ignored; missing keys take diffusers' defaults.
 *
 * @param json The parsed JSON.
 * @returns A complete, checked config.
 * @throws {TypeError} when `json` is not an object or a value has the wrong type.
 * @throws {RangeError} for a value out of range, naming the key and the value.
 *
 * @example
 * ```ts
 * import { schedulerConfigFromJson } from "@x/ddpm/diffusion";
 * const config = schedulerConfigFromJson({
 *   _class_name: "DDPMScheduler", beta_schedule: "linear", variance_type: "fixed_large",
 * });
 * if (config.varianceType !== "fixed_large") throw new Error("not read");
 * ```
 */
export function schedulerConfigFromJson(json: Record<string, unknown>): SchedulerConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new TypeError(
      `Cannot read a scheduler config from ${JSON.stringify(json)}: expected a JSON object`,
    );
  }
  const partial: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const camel = snakeToCamel(key);
    if ((KEYS as string[]).includes(camel)) {
      if (value === null && camel !== "trainedBetas") {
        fail(TypeError, camel as Key, value, "expected a value; leave the key out for the default");
      }
      partial[camel] = value;
    }
  }
  return resolveSchedulerConfig(partial as Partial<SchedulerConfig>);
}

/**
 * Writes a config in diffusers' `scheduler_config.json` form: `_class_name`, then the fields
 * in snake_case. Fields the named class does not have in diffusers are left out
 * (`set_alpha_to_one` for DDPMScheduler, `variance_type` for DDIMScheduler).
 *
 * @param config A complete config.
 * @param className `"DDPMScheduler"` or `"DDIMScheduler"`.
 * @returns A plain object ready for `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { DEFAULT_SCHEDULER_CONFIG } from "@x/ddpm";
 * import { schedulerConfigToJson } from "@x/ddpm/diffusion";
 * const json = schedulerConfigToJson(DEFAULT_SCHEDULER_CONFIG, "DDPMScheduler");
 * if (json.num_train_timesteps !== 1000) throw new Error("wrong key");
 * ```
 */
export function schedulerConfigToJson(
  config: SchedulerConfig,
  className: "DDPMScheduler" | "DDIMScheduler",
): Record<string, unknown> {
  const skip: Key = className === "DDPMScheduler" ? "setAlphaToOne" : "varianceType";
  const out: Record<string, unknown> = { _class_name: className };
  for (const key of KEYS) {
    if (key === skip) continue;
    const value = config[key];
    out[camelToSnake(key)] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}
