// The run folder's config.json: built for a new run, or read back, checked and updated with
// the caller's changes on resume. Nothing is written before the run is known to proceed.
import { InputError } from "../errors.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { validateUNetConfig } from "../nn/validate_unet_config.ts";
import { getPreset } from "../presets/presets.ts";
import { CheckpointError, listCheckpoints } from "./checkpoint.ts";
import type { RunConfig, RunRequest } from "./run_config.ts";
import { validateRunConfig } from "./validate_run_config.ts";
import { validateTrainConfig } from "./validate_train_config.ts";
import { _sweepTempFiles } from "./_sweep_temp_files.ts";
import { _checkCheckpointFits } from "./_checkpoint_header.ts";
import { _checkSeed } from "./_check_seed.ts";

/**
 * Returns the run's config and `save`, which sweeps temp files of interrupted writes and writes
 * config.json when it is new or changed. Nothing is written here: the caller saves once the run
 * is known to proceed (its data loaded), so a refused or failed start leaves the folder as it
 * was.
 */
export async function _resolveRunConfig(
  opts: RunRequest,
): Promise<{ run: RunConfig; save: () => Promise<void> }> {
  const { outDir } = opts;
  const configPath = `${outDir}/config.json`;
  const checkpoints = await listCheckpoints(outDir);
  const hasCheckpoints = checkpoints.length > 0;
  if (!opts.resume && hasCheckpoints) {
    throw new InputError(
      `Cannot start a new run in ${outDir}: it already holds checkpoints. ` +
        "Pass --resume to continue it, or choose another --out.",
    );
  }
  let run: RunConfig | undefined;
  let changes: string[] = [];
  if (opts.resume) {
    const text = await Deno.readTextFile(configPath).catch((err) => {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    });
    if (text !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new CheckpointError(
          `Cannot resume: ${configPath} is not valid JSON (${(err as Error).message})`,
          { cause: err },
        );
      }
      run = validateRunConfig(json, configPath);
      // The checkpoint the resume will load must fit before anything is recorded.
      if (hasCheckpoints) {
        await _checkCheckpointFits(checkpoints[checkpoints.length - 1], run.unet, configPath);
      }
      changes = applyResumeChanges(run, opts);
      if (changes.length === 0) {
        return { run, save: async () => void await _sweepTempFiles(outDir) };
      }
    } else if (hasCheckpoints) {
      throw new CheckpointError(
        `Cannot resume ${outDir}: it holds checkpoints but no config.json, which says what ` +
          "model they belong to. Restore it, or start a new run in another --out.",
      );
    }
  }
  run ??= newRunConfig(opts);
  try {
    validateUNetConfig(run.unet);
    validateTrainConfig(run.train);
    _checkSeed(run.seed);
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
    throw new InputError(`Cannot train: ${err.message}`, { cause: err });
  }
  const final = run;
  const save = async () => {
    await _sweepTempFiles(outDir);
    await Deno.mkdir(`${outDir}/checkpoints`, { recursive: true });
    await _writeFileAtomic(configPath, JSON.stringify(final, null, 2) + "\n");
    if (changes.length) {
      console.error(`ddpm: resuming with ${changes.join(", ")} (recorded in config.json)`);
      changes = [];
    }
  };
  return { run, save };
}

function newRunConfig(opts: RunRequest): RunConfig {
  const preset = typeof opts.preset === "object" ? opts.preset : getPreset(opts.preset ?? "tiny");
  return {
    format: "ddpm-run-v1",
    preset: typeof opts.preset === "string" ? opts.preset : opts.preset ? null : "tiny",
    unet: structuredClone(preset.unet),
    scheduler: structuredClone(preset.scheduler),
    train: { ...preset.train, ...opts.train },
    data: typeof opts.data === "string" ? opts.data : opts.data ? "(in memory)" : "emoji:faces",
    seed: opts.seed ?? 0,
  };
}

/**
 * Applies the caller's training settings and data source to a resumed run and lists what
 * changed. The model, the noise schedule and the seed cannot change: asking for other ones
 * is refused, naming the option.
 */
function applyResumeChanges(run: RunConfig, opts: RunRequest): string[] {
  const where = `Cannot resume ${opts.outDir}`;
  if (opts.preset !== undefined) {
    const preset = typeof opts.preset === "object" ? opts.preset : getPreset(opts.preset);
    const same = JSON.stringify(preset.unet) === JSON.stringify(run.unet) &&
      JSON.stringify(preset.scheduler) === JSON.stringify(run.scheduler);
    if (!same) {
      const name = typeof opts.preset === "string" ? opts.preset : "the given preset";
      throw new InputError(
        `${where} with preset ${name}: the run's model is ${run.preset ?? "a custom one"}, and ` +
          "the model cannot change on resume. Leave out --preset, or start a new --out.",
      );
    }
  }
  if (opts.seed !== undefined && opts.seed !== run.seed) {
    throw new InputError(
      `${where} with seed ${opts.seed}: the run's seed is ${run.seed}, and every draw of the ` +
        "run derives from it. Leave out --seed, or start a new --out.",
    );
  }
  const changes: string[] = [];
  const train = run.train as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(opts.train ?? {})) {
    if (value === undefined || value === train[key]) continue;
    changes.push(`${key} ${train[key]} -> ${value}`);
    train[key] = value;
  }
  if (typeof opts.data === "string" && opts.data !== run.data) {
    changes.push(`data ${run.data} -> ${opts.data}`);
    run.data = opts.data;
  }
  return changes;
}
