// Resuming a run: the last checkpoint holds the weights, the EMA, Adam's moments and the step;
// every later draw derives from (seed, step), so the run continues as if never stopped.
import { _showName } from "../_terminal_text.ts";
import type * as tf from "@tensorflow/tfjs";
import {
  CheckpointError,
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
} from "../runs/checkpoint.ts";
import type { TrainState } from "./train_state.ts";

/**
 * Loads the last checkpoint of `outDir` into `state` when `resume` is set and one exists.
 * Returns the step to continue from and the checkpoint's path ("" for a fresh start).
 */
export async function _resume(
  state: TrainState,
  outDir: string,
  resume: boolean,
): Promise<{ step: number; checkpoint: string }> {
  const existing = await listCheckpoints(outDir);
  if (!resume || existing.length === 0) return { step: 0, checkpoint: "" };
  const checkpoint = existing[existing.length - 1];
  const saved = await loadCheckpoint(checkpoint);
  try {
    state.unet.setWeights(saved.model);
    assignAll(state.ema, saved.ema, checkpoint);
    if (saved.adamM && saved.adamV) {
      assignAll(state.adam.m, saved.adamM, checkpoint);
      assignAll(state.adam.v, saved.adamV, checkpoint);
    }
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`Cannot resume from ${checkpoint}: ${(err as Error).message}`);
  } finally {
    disposeCheckpoint(saved);
  }
  console.error(`ddpm: resumed ${_showName(outDir)} at step ${saved.step}`);
  return { step: saved.step, checkpoint };
}

function assignAll(
  target: Map<string, tf.Variable>,
  source: Map<string, tf.Tensor>,
  path: string,
): void {
  for (const [name, v] of target) {
    const s = source.get(name);
    if (!s || s.shape.join() !== v.shape.join()) {
      throw new CheckpointError(
        `Checkpoint ${path} does not fit this model: ${name} is ${
          s ? `[${s.shape}]` : "missing"
        }, expected [${v.shape}]`,
      );
    }
    v.assign(s);
  }
}
