// The progress grids of a run folder's samples/: what the EMA weights draw at a given step.
import type * as tf from "@tensorflow/tfjs";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { sample } from "../diffusion/sample.ts";
import { saveGrid } from "../io/save_grid.ts";
import { createUNetFromConfig } from "../nn/create_unet_from_config.ts";
import type { TrainConfig } from "../presets/train_config.ts";
import { deriveSeed } from "../random.ts";
import { checkpointName } from "../runs/checkpoint.ts";
import type { RunConfig } from "../runs/run_config.ts";

/** Reverse steps of the progress grids. */
const GRID_STEPS = 200;

/**
 * Samples a 4x4 grid from the EMA weights into `<outDir>/samples/` to watch progress: ancestral
 * DDPM on 200 of the T steps. Early in training DDIM's deterministic few-step grids look like
 * high-frequency noise while DDPM's already show the shapes, at 8x the cost of 25 DDIM steps
 * (a minute on wasm for tiny).
 */
export async function _writeSampleGrid(
  outDir: string,
  step: number,
  run: RunConfig,
  ema: Map<string, tf.Variable>,
): Promise<void> {
  const unet = createUNetFromConfig(run.unet, { seed: run.seed });
  try {
    unet.setWeights(ema);
    const images = await sample({
      unet,
      scheduler: new DDPMScheduler(run.scheduler),
      batchSize: 16,
      numInferenceSteps: GRID_STEPS,
      seed: deriveSeed(run.seed, 0x5a),
    });
    await Deno.mkdir(`${outDir}/samples`, { recursive: true });
    await saveGrid(
      images,
      `${outDir}/samples/${checkpointName(step).replace(".safetensors", ".png")}`,
      {
        cols: 4,
      },
    );
    images.dispose();
  } finally {
    unet.dispose();
  }
}

/** Whether step `step` ends with a grid: every `sampleEvery` steps (0: never), and the last. */
export function _sampleGridDue(
  step: number,
  cfg: Pick<TrainConfig, "sampleEvery" | "steps">,
): boolean {
  return cfg.sampleEvery > 0 && (step % cfg.sampleEvery === 0 || step === cfg.steps);
}
