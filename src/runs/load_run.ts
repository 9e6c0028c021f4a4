/**
 * Loading a trained model back from a run folder, for sampling.
 *
 * @module
 */
import { createUNetFromConfig } from "../nn/create_unet_from_config.ts";
import type { UNet } from "../nn/unet.ts";
import {
  CheckpointError,
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
} from "./checkpoint.ts";
import type { RunConfig } from "./run_config.ts";
import { validateRunConfig } from "./validate_run_config.ts";
import { _checkCheckpointFits } from "./_checkpoint_header.ts";

/** A model restored from a training run. */
export interface LoadedRun {
  /** The UNet, holding the EMA weights (what the paper samples from). */
  unet: UNet;
  /** The run's config.json. */
  config: RunConfig;
  /** The training step of the checkpoint. */
  step: number;
  /** The checkpoint file that was read. */
  checkpoint: string;
}

/**
 * Restores the EMA weights of a training run.
 *
 * @param path A run folder (its newest checkpoint is used) or one checkpoint file inside
 *   `<run>/checkpoints/`.
 * @param opts `ema: false` loads the raw weights instead of their moving average.
 * @returns The model, the run's config and the step.
 * @throws {CheckpointError} when the folder or file is missing, damaged or of another shape.
 *
 * @example
 * ```ts
 * import { CheckpointError, loadRun } from "@x/ddpm";
 * try {
 *   await loadRun("/no/such/run");
 *   throw new Error("should have failed");
 * } catch (err) {
 *   if (!(err instanceof CheckpointError)) throw err;
 * }
 * ```
 */
export async function loadRun(path: string, opts: { ema?: boolean } = {}): Promise<LoadedRun> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new CheckpointError(
      `Checkpoint not found: ${path}. Pass a run folder written by \`deno task train\` ` +
        "or a .safetensors file inside its checkpoints/ folder.",
    );
  }
  let runDir: string, checkpoint: string;
  if (info.isDirectory) {
    runDir = path.replace(/\/+$/, "");
    const all = await listCheckpoints(runDir);
    if (all.length === 0) {
      throw new CheckpointError(
        `${path} holds no checkpoints (expected ${path}/checkpoints/step-*.safetensors)`,
      );
    }
    checkpoint = all[all.length - 1];
  } else {
    checkpoint = path;
    runDir = path.replace(/\/[^/]*$/, "").replace(/\/checkpoints$/, "") || ".";
  }
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
  } catch (err) {
    throw new CheckpointError(`Cannot read ${runDir}/config.json: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const config: RunConfig = validateRunConfig(json, `${runDir}/config.json`);
  // From the header, before any weights are built: the config may describe a far larger model.
  await _checkCheckpointFits(checkpoint, config.unet, `${runDir}/config.json`);
  const state = await loadCheckpoint(checkpoint);
  const unet = createUNetFromConfig(config.unet);
  try {
    unet.setWeights(opts.ema === false ? state.model : state.ema);
  } catch (err) {
    unet.dispose();
    throw new CheckpointError(
      `${checkpoint} does not fit ${runDir}/config.json: ${(err as Error).message}`,
    );
  } finally {
    disposeCheckpoint(state);
  }
  return { unet, config, step: state.step, checkpoint };
}
