// Model loading shared by the eval, interpolate and inpaint commands: a training run or a
// diffusers folder, with the scheduler settings it was trained with.
import { _showName } from "../_terminal_text.ts";
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import { loadPretrained } from "../diffusers/pretrained.ts";
import { loadEmojiModel } from "../diffusers/emoji_model.ts";
import type { UNet } from "../nn/unet.ts";
import { createUNetFromConfig } from "../nn/create_unet_from_config.ts";
import { getPreset, presets, type SampleConfig } from "../presets/presets.ts";
import { _readImageFile } from "../io/_read_image_file.ts";
import { loadRun } from "../runs/load_run.ts";
import { CliError, presetFlag } from "./_cli.ts";
import { formatBytes, Progress } from "./_progress.ts";

type HubOptions = NonNullable<Parameters<typeof loadPretrained>[1]>;
type OnProgress = NonNullable<HubOptions["onProgress"]>;

/** Files from this size on get a progress bar while they download (configs arrive at once). */
const PROGRESS_FROM_BYTES = 1 << 20;

/** Draws a bar with bytes, rate and ETA on stderr for each large file a hub id downloads. */
function downloadProgress(): OnProgress {
  let bar: Progress | undefined;
  let file = "";
  return ({ filename, done, total }) => {
    if (total < PROGRESS_FROM_BYTES) return;
    if (filename !== file || !bar) {
      file = filename;
      bar = new Progress(total, {
        label: `downloading ${filename}`,
        done,
        format: formatBytes,
        every: Math.max(1, Math.round(total / 10)),
      });
    }
    bar.update(done);
  };
}

/** A loaded model, its scheduler settings, a description and the run's data source if any. */
export interface LoadedModel {
  unet: UNet;
  scheduler: Partial<SchedulerConfig>;
  what: string;
  data?: string;
  /** The sampling defaults of the preset the model came from, if known. */
  sampleDefaults?: SampleConfig;
}

/**
 * Loads the model named by `--checkpoint`, `--pretrained` or `--preset`; with none of them, the
 * emoji model shipped in the package.
 */
export async function loadModel(
  flags: { checkpoint?: string; pretrained?: string; preset?: string },
  opts: { seed?: number; hub?: HubOptions } = {},
): Promise<LoadedModel> {
  if ([flags.checkpoint, flags.pretrained, flags.preset].filter((f) => f).length > 1) {
    throw new CliError(
      `Give only one of --checkpoint and --pretrained${flags.preset ? " and --preset" : ""}`,
    );
  }
  if (flags.preset) {
    const preset = presetFlag(flags.preset);
    return {
      unet: createUNetFromConfig(preset.unet, { seed: opts.seed ?? 0 }),
      scheduler: preset.scheduler,
      what: `untrained preset ${_showName(flags.preset)}`,
      sampleDefaults: preset.sample,
    };
  }
  if (flags.pretrained) {
    // A folder that exists wins; otherwise owner/name[@revision] is fetched from the hub.
    const loaded = await loadPretrained(flags.pretrained, {
      onProgress: downloadProgress(),
      ...opts.hub,
    });
    return {
      unet: loaded.unet,
      scheduler: loaded.scheduler.config,
      what: `pretrained ${_showName(flags.pretrained)}`,
    };
  }
  if (!flags.checkpoint) {
    const shipped = await loadEmojiModel();
    return {
      unet: shipped.unet,
      scheduler: shipped.scheduler.config,
      what: "the shipped emoji model (models/emoji)",
      data: "emoji:faces",
      sampleDefaults: presets.emoji.sample,
    };
  }
  const run = await loadRun(flags.checkpoint);
  return {
    unet: run.unet,
    scheduler: run.config.scheduler,
    what: `${_showName(run.checkpoint)} (step ${run.step}, EMA weights)`,
    data: run.config.data,
    sampleDefaults: run.config.preset ? getPreset(run.config.preset).sample : undefined,
  };
}

/**
 * Reads the image file a flag names (its size and first bytes checked before the rest is read),
 * turning a missing file into a one-line CliError.
 */
export async function readInput(flag: string, path: string): Promise<Uint8Array> {
  try {
    return await _readImageFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new CliError(`--${flag} ${_showName(path)}: no such file`);
  }
}
