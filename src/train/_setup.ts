// What train() holds for the whole run: the data at the model's resolution, the model with its
// optimiser state and EMA, and the images per pass. Built before the first step, disposed after.
import * as tf from "@tensorflow/tfjs";
import { loadDataset } from "../data/dataset.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { InputError } from "../errors.ts";
import { createUNetFromConfig } from "../nn/create_unet_from_config.ts";
import type { RunConfig } from "../runs/run_config.ts";
import { resolveMicroBatchSize } from "./micro_batch_size.ts";
import { createAdamState } from "./optimizer.ts";
import type { TrainingData } from "./train_options.ts";
import type { TrainState } from "./train_state.ts";

/** The images per pass, and the bytes a pass needs where they were measured. */
export interface _MicroBatch {
  microBatchSize: number;
  passBytes: number | undefined;
}

/** The given data, or the run's data source loaded at the model's resolution. */
export async function _loadTrainingData(
  given: string | TrainingData | undefined,
  run: RunConfig,
): Promise<TrainingData> {
  const data = typeof given === "object"
    ? given
    : await loadDataset(run.data, { resolution: run.unet.resolution });
  if (data.resolution !== run.unet.resolution) {
    throw new InputError(
      `Cannot train: the data has resolution ${data.resolution} but the model ` +
        `${run.unet.resolution}; load the data at the model's resolution`,
    );
  }
  return data;
}

/** A fresh model from the run's seed, Adam's zero moments, and an EMA equal to the weights. */
export function _createTrainState(run: RunConfig): TrainState {
  const unet = createUNetFromConfig(run.unet, { seed: run.seed });
  const weights = unet.getWeights();
  const ema = new Map<string, tf.Variable>();
  for (const [name, w] of weights) ema.set(name, tf.tidy(() => tf.variable(w.clone(), false)));
  return {
    unet,
    weights,
    adam: createAdamState(weights),
    ema,
    scheduler: new DDPMScheduler(run.scheduler),
  };
}

/** Frees the model, the EMA and Adam's moments. */
export function _disposeTrainState(state: TrainState): void {
  state.unet.dispose();
  const { ema, adam } = state;
  tf.dispose([...ema.values(), ...adam.m.values(), ...adam.v.values()]);
}

/**
 * Images per pass: given, or chosen from the backend's memory limit; a chosen one is recorded in
 * config.json (through `saveRunConfig`) so that a resumed run takes the same passes.
 */
export async function _resolveMicroBatch(
  state: TrainState,
  run: RunConfig,
  saveRunConfig: () => Promise<void>,
  share?: { size: number },
): Promise<_MicroBatch> {
  const cfg = run.train;
  // A data-parallel rank passes its share of the batch.
  const images = share?.size ?? cfg.batchSize;
  const micro = await resolveMicroBatchSize(state, images, cfg.microBatchSize);
  console.error(`ddpm: ${micro.line}`);
  if (cfg.microBatchSize !== micro.microBatchSize) {
    cfg.microBatchSize = micro.microBatchSize;
    await saveRunConfig();
  }
  const passBytes = micro.memory &&
    micro.memory.fixedBytes + micro.microBatchSize * micro.memory.perImageBytes;
  return { microBatchSize: micro.microBatchSize, passBytes };
}
