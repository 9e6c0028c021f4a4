/**
 * What `train()` takes and returns, and what it reports after each step.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Preset, PresetName } from "../presets/presets.ts";
import type { TrainConfig } from "../presets/train_config.ts";
import type { Collective } from "./collective.ts";

/** Metrics of one optimisation step, as written to `metrics.jsonl`. */
export interface StepMetrics {
  /** Steps taken after this one (1-based). */
  step: number;
  /** Mean squared error of the prediction (L_simple). */
  loss: number;
  /** Learning rate used. */
  lr: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** Training throughput over this step. */
  imagesPerSec: number;
  /** True when the step was skipped because the loss or gradients were not finite. */
  skipped?: boolean;
}

/** Training images in memory: what `train()` needs of a dataset. */
export interface TrainingData {
  /** Number of images. */
  size: number;
  /** Height and width of every image. */
  resolution: number;
  /** The images at `indices`, NHWC in [-1, 1], each mirrored where `flip` says so. */
  getBatch(indices: number[], opts?: { flip?: boolean[] }): tf.Tensor4D;
}

/** Options of `train()`. */
export interface TrainOptions {
  /** Run folder for config.json, checkpoints/, samples/, metrics.jsonl, loss.png. */
  outDir: string;
  /**
   * A preset name or object. Default "tiny". On resume it must match the run's model, or be
   * left out.
   */
  preset?: PresetName | Preset;
  /** Overrides of the preset's training recipe; on resume they replace the run's values. */
  train?: Partial<TrainConfig>;
  /**
   * Training images: a folder, a CIFAR-10 .bin file or folder, "emoji", "emoji:faces" (the
   * default: 212 faces, hearts and hands), or a loaded Dataset.
   */
  data?: string | TrainingData;
  /** Continue from the last checkpoint in `outDir`. Default false. */
  resume?: boolean;
  /** Seed of the weights, the shuffle and every draw. Default 0; on resume, the run's. */
  seed?: number;
  /** Stop after the current step (writing a checkpoint) when aborted, e.g. on Ctrl-C. */
  signal?: AbortSignal;
  /** Called after each step with its metrics. */
  onStep?: (m: StepMetrics) => void;
  /** Non-finite steps in a row that stop the run. Default 5. */
  maxBadSteps?: number;
  /**
   * Data-parallel training on several processes (e.g. `openMpiCollective()` from
   * `@x/ddpm/distributed`): each rank computes its share of every batch and the gradients are
   * summed, so N ranks take the steps one process would. Rank 0 alone reads and writes the run
   * folder and sends its state to the others. Default: train alone.
   */
  collective?: Collective;
}

/** What `train()` returns. */
export interface TrainResult {
  /** Steps taken in total, across resumes. */
  step: number;
  /** Loss of the last finite step. */
  loss: number;
  /** "done" when all steps ran, "interrupted" when stopped by the signal. */
  status: "done" | "interrupted";
  /**
   * Why an interrupted run stopped: the signal's `reason`; in data-parallel training the same on
   * every rank, "SIGTERM" when any rank's reason was "SIGTERM", else "SIGINT".
   */
  stopReason?: unknown;
  /** The last checkpoint written. */
  checkpoint: string;
  /** The run folder. */
  outDir: string;
}
