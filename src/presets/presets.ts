/**
 * The paper's three setups, and a tiny one for tests and demos, as plain data.
 *
 * @module
 */
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import { DEFAULT_SCHEDULER_CONFIG } from "../diffusion/scheduler_config.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import type { SamplerName } from "./samplers.ts";
import type { TrainConfig } from "./train_config.ts";
import { DEFAULT_TRAIN_CONFIG } from "./train_config.ts";

/** Names of the built-in presets. */
export type PresetName = "cifar10" | "celebahq256" | "lsun256" | "tiny" | "emoji";

/** How a preset samples by default. */
export interface SampleConfig {
  /**
   * "ddpm" (ancestral, the paper), "ddim" (Song et al. 2021, fewer steps), "dpm"
   * (DPM-Solver++, Lu et al. 2022, about 20 steps) or "dpm-sde" (its stochastic form); see
   * {@linkcode SamplerName}.
   */
  sampler: SamplerName;
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
    // Sized so that `deno task train` (the 212 emoji faces, hearts and hands) ends in
    // recognisable emoji in about 5 minutes on two CPU cores with onednn (27 with wasm), about
    // 90 passes over the data. Eight recipes at equal compute, 400 s on one core, 64 samples each
    // (bench/emoji_likeness.ts: distance to the nearest training emoji, lower is nearer): this
    // one at 1300 steps 54.3; batch 8 with the same decay 56.4; batch 16 at lr 2e-3 55.7;
    // batch 32 at 2e-3 57.0; the former recipe (batch 8, constant lr) 59.1; with constant lr, a
    // wider model (ch 48) 60.7, no attention 59.5, both and batch 16 57.6. The decay is what
    // helps. 1200 steps keep the run within the former one's time.
    train: {
      ...DEFAULT_TRAIN_CONFIG,
      batchSize: 16,
      learningRate: 1e-3,
      lrDecay: "cosine",
      warmupSteps: 100,
      emaDecay: 0.999,
      emaWarmup: true,
      steps: 1200,
      checkpointEvery: 500,
      sampleEvery: 500,
    },
    // A model this young needs a stochastic sampler: on the default run's last checkpoint DDIM
    // (50 steps) drew samples 80.3 from the nearest training emoji, SDE-DPM-Solver++ (20) 57.8.
    sample: { sampler: "dpm-sde", numInferenceSteps: 20, eta: 0, batchSize: 16 },
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
      steps: 4000,
      checkpointEvery: 500,
      sampleEvery: 1000,
    },
    // The ODE solver ("dpm") leaves about a third of this model's samples smudged; the
    // stochastic form draws clean emoji in the same 20 steps (see models/emoji/README.md).
    sample: { sampler: "dpm-sde", numInferenceSteps: 20, eta: 0, batchSize: 16 },
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
