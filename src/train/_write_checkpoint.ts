// Writing a checkpoint of the run and keeping only the newest `keepCheckpoints` of them.
import { checkpointName, listCheckpoints, saveCheckpoint } from "../runs/checkpoint.ts";
import type { RunConfig } from "../runs/run_config.ts";
import type { TrainConfig } from "../presets/train_config.ts";
import type { TrainState } from "./train_state.ts";

/** Saves weights, EMA, Adam's moments and the step; removes the oldest past the limit. */
export async function _writeCheckpoint(
  outDir: string,
  step: number,
  state: TrainState,
  run: RunConfig,
): Promise<string> {
  const path = `${outDir}/checkpoints/${checkpointName(step)}`;
  await saveCheckpoint(path, {
    step,
    model: state.weights,
    ema: state.ema,
    adamM: state.adam.m,
    adamV: state.adam.v,
    metadata: { seed: String(run.seed) },
  });
  const all = await listCheckpoints(outDir);
  for (const old of all.slice(0, Math.max(0, all.length - run.train.keepCheckpoints))) {
    await Deno.remove(old);
  }
  return path;
}

/** Whether step `step` ends with a checkpoint: every `checkpointEvery` steps, and the last. */
export function _checkpointDue(
  step: number,
  cfg: Pick<TrainConfig, "checkpointEvery" | "steps">,
): boolean {
  return step % cfg.checkpointEvery === 0 || step === cfg.steps;
}
