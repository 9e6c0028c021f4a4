// Model loading shared by the eval, interpolate and inpaint commands: a training run or a
// diffusers folder, with the scheduler settings it was trained with.
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import { loadPretrained } from "../io/pretrained.ts";
import type { UNet } from "../nn/unet.ts";
import { loadRun } from "../train/load_run.ts";
import { CliError } from "./_cli.ts";

/** The help lines of the model flags. */
export const MODEL_HELP = `Model (one of):
  --checkpoint PATH   run folder or checkpoint file written by \`deno task train\`
                      (default: runs/tiny if it exists)
  --pretrained DIR    diffusers model folder (config.json + diffusion_pytorch_model.*)`;

/** A loaded model, its scheduler settings, a description and the run's data source if any. */
export interface LoadedModel {
  unet: UNet;
  scheduler: Partial<SchedulerConfig>;
  what: string;
  data?: string;
}

/** Loads the model named by `--checkpoint` or `--pretrained`. */
export async function loadModel(
  flags: { checkpoint?: string; pretrained?: string },
): Promise<LoadedModel> {
  if (flags.checkpoint && flags.pretrained) {
    throw new CliError("Give only one of --checkpoint and --pretrained");
  }
  if (flags.pretrained) {
    const loaded = await loadPretrained(flags.pretrained);
    return {
      unet: loaded.unet,
      scheduler: loaded.scheduler.config,
      what: `pretrained ${flags.pretrained}`,
    };
  }
  const run = await loadRun(flags.checkpoint ?? "runs/tiny");
  return {
    unet: run.unet,
    scheduler: run.config.scheduler,
    what: `${run.checkpoint} (step ${run.step}, EMA weights)`,
    data: run.config.data,
  };
}

/** Reads the file a flag names, turning a missing file into a one-line CliError. */
export async function readInput(flag: string, path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new CliError(`--${flag} ${path}: no such file`);
  }
}
