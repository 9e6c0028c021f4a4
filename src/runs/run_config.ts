/**
 * The contents of a run folder's `config.json`, and what a caller asks of a run folder.
 *
 * @module
 */
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import type { Preset, PresetName } from "../presets/presets.ts";
import type { TrainConfig } from "../presets/train_config.ts";

/** The contents of a run folder's `config.json`. */
export interface RunConfig {
  /** Format marker. */
  format: "ddpm-run-v1";
  /** The preset the run started from, if any. */
  preset: string | null;
  /** The network. */
  unet: UNetConfig;
  /** The noise schedule. */
  scheduler: SchedulerConfig;
  /** The recipe. */
  train: TrainConfig;
  /** The data source, as given. */
  data: string;
  /** The run's seed. */
  seed: number;
  /** Processes that trained it last (data-parallel ranks); absent for one process. */
  ranks?: number;
}

/** The part of the training options that decides a run folder's `config.json`. */
export interface RunRequest {
  /** The run folder. */
  outDir: string;
  /** A preset name or object; default "tiny". */
  preset?: PresetName | Preset;
  /** Overrides of the preset's training recipe. */
  train?: Partial<TrainConfig>;
  /** The data source: a string is recorded as given, an object as "(in memory)". */
  data?: string | object;
  /** Continue the run in `outDir`. */
  resume?: boolean;
  /** The run's seed. */
  seed?: number;
}
