/**
 * Reading a run folder's `config.json` without trusting it.
 *
 * @module
 */
import { resolveSchedulerConfig } from "../diffusion/config_io.ts";
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import { validateUNetConfig } from "../nn/validate_unet_config.ts";
import { presets } from "../presets/presets.ts";
import { CheckpointError } from "./checkpoint.ts";
import type { RunConfig } from "./run_config.ts";
import { validateTrainConfig } from "./validate_train_config.ts";
import { _checkSeed } from "./_check_seed.ts";

/**
 * Checks the parsed contents of a run's `config.json`: the format marker, the preset name,
 * the UNet (within {@linkcode UNET_LIMITS}), the scheduler, the training recipe, the data
 * source and the seed.
 *
 * @param json What `JSON.parse` returned.
 * @param path The file, named in the error.
 * @returns The same object, typed.
 * @throws {CheckpointError} naming the file and the field, with the validator's error as
 *   `cause`.
 *
 * @example
 * ```ts
 * import { CheckpointError, presets } from "@x/ddpm";
 * import { validateRunConfig } from "@x/ddpm/train";
 * const run = {
 *   format: "ddpm-run-v1", preset: "tiny", unet: presets.tiny.unet,
 *   scheduler: presets.tiny.scheduler, train: presets.tiny.train, data: "emoji", seed: 0,
 * };
 * validateRunConfig(run, "runs/tiny/config.json");
 * const bad = { ...run, unet: { ...run.unet, numResBlocks: 1e9 } };
 * const err = (() => { try { validateRunConfig(bad, "c.json"); } catch (e) { return e; } })();
 * if (!(err instanceof CheckpointError)) throw new Error("accepted 1e9 blocks");
 * ```
 */
export function validateRunConfig(json: unknown, path: string): RunConfig {
  try {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new TypeError("expected a JSON object");
    }
    const run = json as Record<string, unknown>;
    if (run.format !== "ddpm-run-v1") {
      throw new TypeError(`format must be "ddpm-run-v1": got ${JSON.stringify(run.format)}`);
    }
    if (run.preset !== null && !Object.hasOwn(presets, String(run.preset))) {
      throw new RangeError(
        `preset must be null or one of ${Object.keys(presets).join(", ")}: got ${
          JSON.stringify(run.preset)
        }`,
      );
    }
    if (typeof run.unet !== "object" || run.unet === null) {
      throw new TypeError("unet must be an object");
    }
    validateUNetConfig(run.unet as RunConfig["unet"]);
    if (typeof run.scheduler !== "object" || run.scheduler === null) {
      throw new TypeError("scheduler must be an object");
    }
    resolveSchedulerConfig(run.scheduler as Partial<SchedulerConfig>);
    validateTrainConfig(run.train as RunConfig["train"]);
    if (typeof run.data !== "string" || run.data === "") {
      throw new TypeError(`data must be a non-empty string: got ${JSON.stringify(run.data)}`);
    }
    _checkSeed(run.seed);
    return json as RunConfig;
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
    throw new CheckpointError(
      `${path} is not a valid run config: ${err.message}. Fix the value, or start a new run ` +
        "in another --out.",
      { cause: err },
    );
  }
}
