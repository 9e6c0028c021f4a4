/**
 * ddpm: Denoising Diffusion Probabilistic Models (Ho, Jain, Abbeel 2020) on TensorFlow.js,
 * for Deno. Train the paper's UNet, sample with DDPM, DDIM or DPM-Solver++, load Google's
 * published models.
 *
 * @example Sample a few images from a (here untrained) tiny model
 * ```ts
 * import { createUNet, DDIMScheduler, presets, sample, setBackend } from "@x/ddpm";
 * await setBackend("wasm");
 * const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 0 });
 * const images = await sample({
 *   unet,
 *   scheduler: new DDIMScheduler(presets.tiny.scheduler),
 *   batchSize: 2,
 *   numInferenceSteps: 5,
 * });
 * if (images.shape.join() !== "2,8,8,3") throw new Error(images.shape.join());
 * ```
 *
 * This module exports what the README's API section lists. The rest of the public surface is in
 * the subpath exports, one per folder: `@x/ddpm/nn` (layers, weights), `/diffusion` (every
 * schedule, closed form and tensor op), `/presets`, `/formats` (bytes <-> arrays), `/images`,
 * `/io` (files), `/data` (datasets), `/diffusers`, `/hub` (models by Hugging Face hub id),
 * `/train` (the training loop's parts), `/backends` and `/memory`; `@x/ddpm/browser` is the part
 * that runs in a web page.
 *
 * @module
 */

// Backends and memory.
export {
  BACKEND_NAMES,
  type BackendName,
  setBackend,
  type SetBackendOptions,
} from "./src/backends/set_backend.ts";
export { oneDnnBf16Support, type Precision } from "./src/backends/onednn/precision.ts";
export { OutOfMemoryError } from "./src/memory/out_of_memory.ts";

// Errors, and the caps on inputs they enforce.
export { FormatError, InputError, LimitError } from "./src/errors.ts";
export { DatasetError } from "./src/data/dataset_error.ts";
export { CheckpointError } from "./src/runs/checkpoint.ts";
export { TrainingDivergedError } from "./src/train/training_diverged_error.ts";
export { MAX_IMAGE_PIXELS } from "./src/images/image.ts";
export { MAX_ZIP_INFLATED_BYTES } from "./src/formats/zip.ts";
export { MAX_STATE_DICT_BYTES } from "./src/formats/safetensors.ts";
export { MAX_NPZ_BYTES } from "./src/formats/npy.ts";
export { UNET_LIMITS } from "./src/nn/validate_unet_config.ts";
export { MAX_TRAIN_TIMESTEPS } from "./src/diffusion/config_io.ts";

// Presets and configs.
export {
  getPreset,
  type Preset,
  type PresetName,
  presets,
  type SampleConfig,
} from "./src/presets/presets.ts";
export { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "./src/presets/train_config.ts";
export { DEFAULT_UNET_CONFIG, type UNetConfig } from "./src/nn/unet_config.ts";
export {
  type BetaSchedule,
  DEFAULT_SCHEDULER_CONFIG,
  type PredictionType,
  type SchedulerConfig,
  type TimestepSpacing,
  type VarianceType,
} from "./src/diffusion/scheduler_config.ts";

// The model.
export { createUNet } from "./src/presets/create_unet.ts";
export {
  defaultSamplerSteps,
  SAMPLER_NAMES,
  type SamplerName,
  schedulerForSampler,
} from "./src/presets/samplers.ts";
export type { CreateUNetOptions } from "./src/nn/create_unet_from_config.ts";
export type { PredictOptions, UNet } from "./src/nn/unet.ts";

// Schedulers, and the schedules and closed forms as plain functions.
export { DDPMScheduler } from "./src/diffusion/ddpm_scheduler.ts";
export { DDIMScheduler } from "./src/diffusion/ddim_scheduler.ts";
export {
  DPMSolverMultistepScheduler,
  type DPMSolverStepOptions,
} from "./src/diffusion/dpm_solver_scheduler.ts";
export {
  DEFAULT_DPM_SOLVER_CONFIG,
  type DPMSolverConfig,
  dpmSolverConfigForModel,
} from "./src/diffusion/dpm_solver_config.ts";
export type {
  DPMSolverAlgorithm,
  DPMSolverTimestepSpacing,
  DPMSolverType,
  FinalSigmasType,
} from "./src/diffusion/dpm_solver_math.ts";
export {
  NoiseScheduler,
  type SchedulerStepOptions,
  type SchedulerStepOutput,
} from "./src/diffusion/noise_scheduler.ts";
export { linearBetas, makeBetas } from "./src/diffusion/schedules.ts";
export {
  alphasFromBetas,
  cumulativeProduct,
  forwardCoefficients,
  posteriorMeanCoefficients,
  posteriorVariance,
  type StepCoefficients,
  stepCoefficients,
} from "./src/diffusion/closed_forms.ts";

// Sampling, likelihood, interpolation, inpainting.
export { sample, type SampleOptions, type SampleStepInfo } from "./src/diffusion/sample.ts";
export { evaluateNll, type NllOptions, type NllResult } from "./src/diffusion/nll.ts";
export { interpolate, type InterpolateOptions } from "./src/diffusion/interpolate.ts";
export { inpaint, type InpaintOptions } from "./src/diffusion/inpaint.ts";

// Training.
export { train } from "./src/train/train.ts";
export type { StepMetrics, TrainOptions, TrainResult } from "./src/train/train_options.ts";
export { trainStep } from "./src/train/train_step.ts";
export type { StepInputs, TrainState } from "./src/train/train_state.ts";
export { createAdamState } from "./src/train/optimizer.ts";
export { type LoadedRun, loadRun } from "./src/runs/load_run.ts";

// Data, images and model files.
export { type Dataset, loadDataset, type LoadDatasetOptions } from "./src/data/dataset.ts";
export { imagesToGrid } from "./src/images/grid.ts";
export { type GridOptions, gridPixels } from "./src/images/grid_pixels.ts";
export { encodePng, type RgbaImage } from "./src/images/png_encode.ts";
export { decodePng, type DecodePngOptions } from "./src/images/png_decode.ts";
export type { GifFrame, GifOptions } from "./src/images/gif.ts";
export { saveGrid } from "./src/io/save_grid.ts";
export { saveGif } from "./src/io/save_gif.ts";
export { loadPretrained, type PretrainedModel } from "./src/diffusers/pretrained.ts";
export { HubError, type HubOptions } from "./src/hub/mod.ts";
export { saveDiffusers, type SaveDiffusersOptions } from "./src/diffusers/save_diffusers.ts";
export { EMOJI_MODEL_URL, loadEmojiModel } from "./src/diffusers/emoji_model.ts";
export {
  type Float32TensorData,
  type HostTensor,
  readSafetensors,
  type SafetensorsContents,
  type SafetensorsWriteDtype,
  writeSafetensors,
  type WriteSafetensorsOptions,
} from "./src/formats/safetensors.ts";
export { readTorchStateDict } from "./src/formats/torch_pickle.ts";

// Sample quality: FID and the Inception Score (pytorch-fid's and torch-fidelity's).
export {
  fid,
  type FidInput,
  type FidOptions,
  inceptionPass,
  type InceptionPassOptions,
  type InceptionPassResult,
  inceptionScore,
} from "./src/metrics/fid.ts";
export { type ActivationStats, frechetDistance } from "./src/metrics/frechet_distance.ts";
export { InceptionV3 } from "./src/metrics/inception.ts";
export {
  type InceptionScore,
  inceptionScoreFromLogits,
} from "./src/metrics/inception_score_math.ts";
export { loadActivationStats, saveActivationStats } from "./src/metrics/stats_file.ts";
