/**
 * Checking a training recipe before a run starts or resumes with it.
 *
 * @module
 */
import type { TrainConfig } from "../presets/train_config.ts";

type Rule = {
  kind: "int" | "number" | "boolean" | "choice";
  /** The allowed values of a choice. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  open?: boolean;
  /** May be left out (undefined). */
  optional?: boolean;
};

// Partial, so that a field added to TrainConfig elsewhere is neither required here nor
// refused; give it a rule when it is added.
const RULES: Partial<Record<keyof TrainConfig, Rule>> = {
  batchSize: { kind: "int", min: 1, max: 65536 },
  learningRate: { kind: "number", min: 0, max: 10, open: true },
  warmupSteps: { kind: "int", min: 0, max: 1e12 },
  gradClipNorm: { kind: "number", min: 0, max: 1e12 },
  emaDecay: { kind: "number", min: 0, max: 1 },
  emaWarmup: { kind: "boolean" },
  adamBeta1: { kind: "number", min: 0, max: 1 },
  adamBeta2: { kind: "number", min: 0, max: 1 },
  adamEpsilon: { kind: "number", min: 0, max: 1, open: true },
  randomFlip: { kind: "boolean" },
  steps: { kind: "int", min: 0, max: 1e12 },
  checkpointEvery: { kind: "int", min: 1, max: 1e12 },
  sampleEvery: { kind: "int", min: 0, max: 1e12 },
  keepCheckpoints: { kind: "int", min: 1, max: 1e6 },
  microBatchSize: { kind: "int", min: 1, max: 65536, optional: true },
  precision: { kind: "choice", choices: ["fp32", "bf16"], optional: true },
  lrDecay: { kind: "choice", choices: ["constant", "cosine"], optional: true },
};

/**
 * Throws if a training recipe has a missing, mistyped or out-of-range field: a TypeError or a
 * RangeError whose message names the field, the value and the allowed range. A recipe can
 * come from a run's config.json, so nothing in it is trusted: `keepCheckpoints` must keep at
 * least the checkpoint just written, `checkpointEvery` must be at least 1.
 *
 * @param config The recipe to check.
 *
 * @example
 * ```ts
 * import { presets } from "@x/ddpm";
 * import { validateTrainConfig } from "@x/ddpm/train";
 * validateTrainConfig(presets.tiny.train);
 * let threw = false;
 * try {
 *   validateTrainConfig({ ...presets.tiny.train, keepCheckpoints: 0 });
 * } catch (e) {
 *   threw = e instanceof RangeError && e.message.includes("keepCheckpoints");
 * }
 * if (!threw) throw new Error("keepCheckpoints 0 would delete every checkpoint");
 * ```
 */
export function validateTrainConfig(config: TrainConfig): void {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(`TrainConfig must be an object: got ${JSON.stringify(config)}`);
  }
  const rec = config as unknown as Record<string, unknown>;
  for (const [key, rule] of Object.entries(RULES) as [string, Rule][]) {
    const v = rec[key];
    if (rule.optional && v === undefined) continue;
    if (rule.kind === "choice") {
      if (!rule.choices!.includes(v as string)) {
        throw new RangeError(
          `TrainConfig.${key} must be one of ${rule.choices!.join(", ")}: got ${JSON.stringify(v)}`,
        );
      }
      continue;
    }
    if (rule.kind === "boolean") {
      if (typeof v !== "boolean") {
        throw new TypeError(`TrainConfig.${key} must be true or false: got ${JSON.stringify(v)}`);
      }
      continue;
    }
    const what = rule.kind === "int" ? "an integer" : "a number";
    if (typeof v !== "number" || (rule.kind === "int" && !Number.isInteger(v))) {
      throw new TypeError(`TrainConfig.${key} must be ${what}: got ${JSON.stringify(v)}`);
    }
    const min = rule.min ?? -Infinity, max = rule.max ?? Infinity;
    if (!(rule.open ? v > min : v >= min) || !(v <= max)) {
      throw new RangeError(
        `TrainConfig.${key} must be ${what} in ${rule.open ? "(" : "["}${min}, ${max}]: got ${v}`,
      );
    }
  }
}
