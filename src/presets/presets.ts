/**
 * The paper's three setups, and a tiny one for tests and demos, as plain data.
 *
 * @module
 */
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import { DEFAULT_SCHEDULER_CONFIG } from "../diffusion/scheduler_config.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import type { TrainConfig } from "./train_config.ts";
import { DEFAULT_TRAIN_CONFIG } from "./train_config.ts";

/** Names of the built-in presets. */
export type PresetName = "cifar10" | "celebahq256" | "lsun256" | "tiny" | "emoji";

/** How a preset samples by default. */
export interface SampleConfig {
  /**
   * "ddpm" (ancestral, the paper), "ddim" (Song et al. 2021, fewer steps) or "dpm"
   * (DPM-Solver++, Lu et al. 2022, about 20 steps).
   */
  sampler: "ddpm" | "ddim" | "dpm";
  /** Reverse steps; the paper uses all T = 1000. */
  numInferenceSteps: number;
  /** DDIM noise scale; 0 is deterministic. Ignored by "ddpm". */
  eta: number;
  /** Images per forward pass. */
  batchSize: number;
}

/** A complete setup: model, noise schedule, training recipe and sampling defaults. */
export interface Preset {
  /** The network. */
  unet: UNetConfig;
  /** The forward and reverse process. */
  scheduler: SchedulerConfig;
  /** The training recipe. */
  train: TrainConfig;
  /** Sampling defaults. */
  sample: SampleConfig;
}

const PAPER_256_UNET: UNetConfig = {
  resolution: 256,
  inChannels: 3,
  outChannels: 3,
  ch: 128,
  chMult: [1, 1, 2, 2, 4, 4],
  numResBlocks: 2,
  attnResolutions: [16],
  dropout: 0.0,
  numGroups: 32,
  normEps: 1e-6,
};

/**
 * The built-in presets. `cifar10`, `celebahq256` and `lsun256` are the paper's (Ho et al.
 * 2020, Appendix B); `tiny` is a small model that trains in minutes on two CPU cores.
 *
 * @example
 * ```ts
 * import { presets } from "@x/ddpm";
 * if (presets.cifar10.train.learningRate !== 2e-4) throw new Error("not the paper's");
 * ```
 */
export const presets: Record<PresetName, Preset> = {
  cifar10: {
    unet: {
      resolution: 32,
      inChannels: 3,
      outChannels: 3,
      ch: 128,
      chMult: [1, 2, 2, 2],
      numResBlocks: 2,
      attnResolutions: [16],
      dropout: 0.1,
      numGroups: 32,
      normEps: 1e-6,
    },
    // The paper samples CIFAR10 with sigma_t^2 = beta_t.
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, varianceType: "fixed_large" },
    train: { ...DEFAULT_TRAIN_CONFIG },
    sample: { sampler: "ddpm", numInferenceSteps: 1000, eta: 0, batchSize: 64 },
  },
  celebahq256: {
    unet: { ...PAPER_256_UNET },
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, varianceType: "fixed_small" },
    train: { ...DEFAULT_TRAIN_CONFIG, batchSize: 64, learningRate: 2e-5, steps: 500_000 },
    sample: { sampler: "ddpm", numInferenceSteps: 1000, eta: 0, batchSize: 4 },
  },
  lsun256: {
    unet: { ...PAPER_256_UNET },
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, varianceType: "fixed_small" },
    // LSUN bedroom was trained without flips.
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      batchSize: 64,
      learningRate: 2e-5,
      randomFlip: false,
      steps: 2_400_000,
    },
    sample: { sampler: "ddpm", numInferenceSteps: 1000, eta: 0, batchSize: 4 },
  },
  tiny: {
    unet: {
      resolution: 32,
      inChannels: 3,
      outChannels: 3,
      ch: 32,
      chMult: [1, 2, 2],
      numResBlocks: 1,
      attnResolutions: [8],
      dropout: 0.0,
      numGroups: 8,
      normEps: 1e-6,
    },
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, varianceType: "fixed_large" },
    // Sized so that `deno task train` (the 212 emoji faces, hearts and hands) shows round faces
    // within about 6 minutes on two CPU cores with onednn (25 on wasm). Batch 16 with a cosine
    // decay beat the earlier 2000 steps of 8 at a constant rate in the same time: the samples'
    // RMS distance to the nearest training emoji fell from 59.2 to 55.1 (bench/emoji_likeness.ts).
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      batchSize: 16,
      learningRate: 1e-3,
      warmupSteps: 100,
      lrDecay: "cosine",
      emaDecay: 0.999,
      emaWarmup: true,
      steps: 1200,
      checkpointEvery: 400,
      sampleEvery: 400,
    },
    sample: { sampler: "ddim", numInferenceSteps: 50, eta: 0, batchSize: 16 },
  },
  // The recipe of the model shipped in `models/emoji` (see its README.md): three times tiny's
  // width and twice its residual blocks, still under 8 MB in float16, trained for about 100
  // minutes in bf16 on two CPU cores.
  emoji: {
    unet: {
      resolution: 32,
      inChannels: 3,
      outChannels: 3,
      ch: 48,
      chMult: [1, 2, 2],
      numResBlocks: 2,
      attnResolutions: [8],
      dropout: 0.0,
      numGroups: 16,
      normEps: 1e-6,
    },
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, varianceType: "fixed_large" },
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      batchSize: 32,
      learningRate: 5e-4,
      warmupSteps: 200,
      emaDecay: 0.9995,
      emaWarmup: true,
      steps: 5000,
      checkpointEvery: 500,
      sampleEvery: 1000,
    },
    sample: { sampler: "dpm", numInferenceSteps: 20, eta: 0, batchSize: 16 },
  },
};

/**
 * Returns the preset of that name, or throws a RangeError that lists the valid names.
 *
 * @param name A preset name.
 * @returns The preset (shared; copy before mutating).
 *
 * @example
 * ```ts
 * import { getPreset } from "@x/ddpm";
 * if (getPreset("tiny").unet.resolution !== 32) throw new Error();
 * ```
 */
export function getPreset(name: string): Preset {
  if (!Object.hasOwn(presets, name)) {
    throw new RangeError(
      `Unknown preset "${name}": expected one of ${Object.keys(presets).join(", ")}`,
    );
  }
  return presets[name as PresetName];
}
