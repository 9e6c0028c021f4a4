// The progress grids of a run folder's samples/: what the EMA weights draw at a given step.
import type * as tf from "@tensorflow/tfjs";
import { sample } from "../diffusion/sample.ts";
import { saveGrid } from "../io/save_grid.ts";
import { createUNetFromConfig } from "../nn/create_unet_from_config.ts";
import { schedulerForSampler } from "../presets/samplers.ts";
import type { TrainConfig } from "../presets/train_config.ts";
import { deriveSeed } from "../random.ts";
import { checkpointName } from "../runs/checkpoint.ts";
import type { RunConfig } from "../runs/run_config.ts";

/** Reverse steps of the progress grids. */
const GRID_STEPS = 20;

/**
 * Samples a 4x4 grid from the EMA weights into `<outDir>/samples/` to watch progress:
 * SDE-DPM-Solver++ in 20 steps. A stochastic sampler, because early in training the
 * deterministic ones (DDIM, DPM-Solver++) draw high-frequency noise where ancestral DDPM
 * already shows the shapes; this one draws what DDPM on 200 steps draws (the tiny default run
 * at steps 1000 and 2000: 61.5 and 57.8 from the nearest training emoji against DDPM's 62.2
 * and 59.2, bench/emoji_likeness.ts) at a tenth of the cost: a grid that took a minute of a
 * wasm run takes seconds.
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
      scheduler: schedulerForSampler("dpm-sde", run.scheduler),
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
