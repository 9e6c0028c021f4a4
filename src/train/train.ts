/**
 * The training loop of the paper (Algorithm 1): draw images, a timestep and noise, regress the
 * noise, take an Adam step; with warmup, clipping, an EMA of the weights, checkpoints, metrics
 * and sample grids in a run folder.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { InputError } from "../errors.ts";
import { sample } from "../diffusion/sample.ts";
import type { SchedulerConfig } from "../diffusion/scheduler_config.ts";
import { batchIndices, loadDataset } from "../data/dataset.ts";
import { saveGrid } from "../io/save_grid.ts";
import { createUNet } from "../nn/create_unet.ts";
import type { UNet } from "../nn/unet.ts";
import type { UNetConfig } from "../nn/unet_config.ts";
import type { Preset, PresetName } from "../presets/presets.ts";
import { deriveSeed, mulberry32 } from "../random.ts";
import type { TrainConfig } from "../presets/train_config.ts";
import {
  CheckpointError,
  checkpointName,
  disposeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  saveCheckpoint,
} from "./checkpoint.ts";
import { explainOutOfMemory } from "../memory/out_of_memory.ts";
import { saveLossPlot } from "./loss_plot.ts";
import { resolveMicroBatchSize } from "./micro_batch_size.ts";
import { createAdamState } from "./optimizer.ts";
import { type TrainState, trainStep } from "./train_step.ts";
import { emaDecayAt, learningRateAt } from "./schedule.ts";
import { _rewindMetrics } from "./_metrics_log.ts";
import { _resolveRunConfig } from "./_run_config.ts";

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

/** Training images in memory: what {@linkcode train} needs of a dataset. */
export interface TrainingData {
  /** Number of images. */
  size: number;
  /** Height and width of every image. */
  resolution: number;
  /** The images at `indices`, NHWC in [-1, 1], each mirrored where `flip` says so. */
  getBatch(indices: number[], opts?: { flip?: boolean[] }): tf.Tensor4D;
}

/** Options of {@linkcode train}. */
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
}

/** What {@linkcode train} returns. */
export interface TrainResult {
  /** Steps taken in total, across resumes. */
  step: number;
  /** Loss of the last finite step. */
  loss: number;
  /** "done" when all steps ran, "interrupted" when stopped by the signal. */
  status: "done" | "interrupted";
  /** The last checkpoint written. */
  checkpoint: string;
  /** The run folder. */
  outDir: string;
}

/** The contents of a run folder's `config.json`. */
export interface RunConfig {
  /** Format marker. */
  format: "ddpm-run-v1";
  /** The preset the run started from, if any. */
  preset: string | null;
  /** The network. */
  unet: UNetConfig;
  /** The noise schedule. */
  scheduler: SchedulerConfig;
  /** The recipe. */
  train: TrainConfig;
  /** The data source, as given. */
  data: string;
  /** The run's seed. */
  seed: number;
}

/** Thrown when too many steps in a row have a non-finite loss. */
export class TrainingDivergedError extends Error {
  /**
   * Makes the error.
   *
   * @param message What happened and what to try.
   */
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/**
 * Trains a UNet with the paper's recipe, writing a resumable run folder.
 *
 * @param opts What to train on, where to write, and overrides.
 * @returns The final step, loss and checkpoint.
 *
 * @example Two steps of a tiny model on a few random images
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { presets, setBackend, train } from "@x/ddpm";
 * await setBackend("wasm");
 * const images = new Uint8Array(4 * 8 * 8 * 3).map((_, i) => (i * 37) % 256);
 * const data = {
 *   size: 4,
 *   resolution: 8,
 *   images,
 *   getBatch: (idx: number[]) =>
 *     tf.tidy(() => tf.tensor4d(images, [4, 8, 8, 3]).gather(idx).div(127.5).sub(1)) as tf.Tensor4D,
 * };
 * const outDir = await Deno.makeTempDir();
 * const preset = { ...presets.tiny, unet: { ...presets.tiny.unet, resolution: 8 } };
 * const result = await train({
 *   outDir, preset, data, train: { steps: 2, batchSize: 2, sampleEvery: 0 },
 * });
 * if (result.step !== 2) throw new Error(String(result.step));
 * await Deno.remove(outDir, { recursive: true });
 * ```
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { outDir, signal, onStep } = opts;
  const maxBadSteps = opts.maxBadSteps ?? 5;
  const { run, save: saveRunConfig } = await _resolveRunConfig(opts);
  const cfg = run.train;
  const seed = run.seed;

  const data = typeof opts.data === "object"
    ? opts.data
    : await loadDataset(run.data, { resolution: run.unet.resolution });
  if (data.resolution !== run.unet.resolution) {
    throw new InputError(
      `Cannot train: the data has resolution ${data.resolution} but the model ` +
        `${run.unet.resolution}; load the data at the model's resolution`,
    );
  }
  await saveRunConfig();

  const unet = createUNet(run.unet, { seed });
  const weights = unet.getWeights();
  const adam = createAdamState(weights);
  const ema = new Map<string, tf.Variable>();
  for (const [name, w] of weights) ema.set(name, tf.tidy(() => tf.variable(w.clone(), false)));
  const scheduler = new DDPMScheduler(run.scheduler);
  const { numTrainTimesteps } = scheduler.config;
  const state: TrainState = { unet, weights, adam, ema, scheduler };
  // Images per pass: given, or chosen from the backend's memory limit; kept in config.json.
  const micro = await resolveMicroBatchSize(state, cfg.batchSize, cfg.microBatchSize);
  console.error(`ddpm: ${micro.line}`);
  if (cfg.microBatchSize !== micro.microBatchSize) {
    cfg.microBatchSize = micro.microBatchSize;
    await saveRunConfig();
  }
  const passBytes = micro.memory &&
    micro.memory.fixedBytes + micro.microBatchSize * micro.memory.perImageBytes;

  let step = 0;
  let lastCheckpoint = "";
  let metricsFile: Deno.FsFile | undefined;
  try {
    // Resume: the checkpoint holds weights, EMA, moments and the step; draws derive from them.
    const existing = await listCheckpoints(outDir);
    if (opts.resume && existing.length > 0) {
      lastCheckpoint = existing[existing.length - 1];
      const saved = await loadCheckpoint(lastCheckpoint);
      try {
        unet.setWeights(saved.model);
        assignAll(ema, saved.ema, lastCheckpoint);
        if (saved.adamM && saved.adamV) {
          assignAll(adam.m, saved.adamM, lastCheckpoint);
          assignAll(adam.v, saved.adamV, lastCheckpoint);
        }
      } catch (err) {
        if (err instanceof CheckpointError) throw err;
        throw new CheckpointError(
          `Cannot resume from ${lastCheckpoint}: ${(err as Error).message}`,
        );
      } finally {
        disposeCheckpoint(saved);
      }
      step = saved.step;
      console.error(`ddpm: resumed ${outDir} at step ${step}`);
    }
    // Steps logged after the checkpoint will run again; drop their lines (and torn ones).
    const logged = await _rewindMetrics(`${outDir}/metrics.jsonl`, step);

    metricsFile = await Deno.open(`${outDir}/metrics.jsonl`, { append: true, create: true });
    const encoder = new TextEncoder();
    const losses = logged.filter((m) => !m.skipped).map((m) => ({ step: m.step, loss: m.loss }));
    let lastLoss = NaN;
    let badInRow = 0;

    const writeCheckpoint = async () => {
      const path = `${outDir}/checkpoints/${checkpointName(step)}`;
      await saveCheckpoint(path, {
        step,
        model: weights,
        ema,
        adamM: adam.m,
        adamV: adam.v,
        metadata: { seed: String(seed) },
      });
      lastCheckpoint = path;
      const all = await listCheckpoints(outDir);
      for (const old of all.slice(0, Math.max(0, all.length - cfg.keepCheckpoints))) {
        await Deno.remove(old);
      }
    };

    while (step < cfg.steps) {
      const started = performance.now();
      // Draws of this step depend only on (seed, step), so a resumed run repeats them.
      const indices = batchIndices(data.size, cfg.batchSize, seed, step);
      const rand = mulberry32(deriveSeed(seed, step, 1));
      const flip = indices.map(() => cfg.randomFlip && rand() < 0.5);
      const tHost = Int32Array.from(indices, () => Math.floor(rand() * numTrainTimesteps));
      const lr = learningRateAt(step, cfg);

      const x0 = data.getBatch(indices, { flip });
      let result: { loss: number; gradNorm: number };
      try {
        result = await trainStep(state, {
          x0,
          t: tHost,
          noiseSeed: deriveSeed(seed, step, 2),
          dropoutSeed: deriveSeed(seed, step, 3),
          learningRate: lr,
          step: step + 1,
          microBatchSize: micro.microBatchSize,
        }, { ...cfg, emaDecay: emaDecayAt(step + 1, cfg) });
      } catch (err) {
        throw explainOutOfMemory(err, {
          what: `The training step (passes of ${micro.microBatchSize} images)`,
          neededBytes: passBytes,
          flag: "--micro-batch",
          value: micro.microBatchSize,
        });
      } finally {
        x0.dispose();
      }
      const { loss, gradNorm: norm } = result;

      const finite = Number.isFinite(loss) && Number.isFinite(norm);
      step++;
      const metrics: StepMetrics = {
        step,
        loss,
        lr,
        gradNorm: norm,
        imagesPerSec: cfg.batchSize / ((performance.now() - started) / 1000),
      };
      if (finite) {
        badInRow = 0;
        lastLoss = loss;
        losses.push({ step, loss });
      } else {
        metrics.skipped = true;
        badInRow++;
        console.error(
          `ddpm: step ${step}: loss ${loss}, gradient norm ${norm}; update skipped`,
        );
      }
      await metricsFile.write(encoder.encode(JSON.stringify(metrics) + "\n"));
      if (badInRow >= maxBadSteps) {
        throw new TrainingDivergedError(
          `Training stopped: ${badInRow} steps in a row had a non-finite loss. The last ` +
            `good checkpoint is ${lastCheckpoint || "none"}; lower the learning rate ` +
            `(now ${cfg.learningRate}) or check the data, then --resume.`,
        );
      }
      onStep?.(metrics);

      const interrupted = signal?.aborted ?? false;
      if (step % cfg.checkpointEvery === 0 || step === cfg.steps || interrupted) {
        await writeCheckpoint();
        await saveLossPlot(`${outDir}/loss.png`, losses);
      }
      if (cfg.sampleEvery > 0 && (step % cfg.sampleEvery === 0 || step === cfg.steps)) {
        await writeSampleGrid(
          `${outDir}/samples/${checkpointName(step).replace(".safetensors", ".png")}`,
          run,
          ema,
          seed,
        );
      }
      if (interrupted) {
        return { step, loss: lastLoss, status: "interrupted", checkpoint: lastCheckpoint, outDir };
      }
      // Let signal handlers and timers run between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (!lastCheckpoint) await writeCheckpoint();
    return { step, loss: lastLoss, status: "done", checkpoint: lastCheckpoint, outDir };
  } finally {
    metricsFile?.close();
    unet.dispose();
    tf.dispose([...ema.values(), ...adam.m.values(), ...adam.v.values()]);
  }
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

/** Reverse steps of the progress grids. */
const GRID_STEPS = 200;

/**
 * Samples a grid from the EMA weights to watch progress: ancestral DDPM on 200 of the T steps.
 * Early in training DDIM's deterministic few-step grids look like high-frequency noise while
 * DDPM's already show the shapes, at 8x the cost of 25 DDIM steps (a minute on wasm for tiny).
 */
async function writeSampleGrid(
  path: string,
  run: RunConfig,
  ema: Map<string, tf.Variable>,
  seed: number,
): Promise<void> {
  const unet: UNet = createUNet(run.unet, { seed });
  try {
    unet.setWeights(ema);
    const images = await sample({
      unet,
      scheduler: new DDPMScheduler(run.scheduler),
      batchSize: 16,
      numInferenceSteps: GRID_STEPS,
      seed: deriveSeed(seed, 0x5a),
    });
    await Deno.mkdir(path.replace(/\/[^/]*$/, ""), { recursive: true });
    await saveGrid(images, path, { cols: 4 });
    images.dispose();
  } finally {
    unet.dispose();
  }
}
