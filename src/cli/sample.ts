// `deno task sample`: draw images from the shipped emoji model, a trained run, a diffusers model,
// or a fresh preset.
import { _showName } from "../_terminal_text.ts";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../backends/set_backend.ts";
import { sample } from "../diffusion/sample.ts";
import { imagesToGrid } from "../images/grid.ts";
import { saveGif } from "../io/save_gif.ts";
import { saveGrid } from "../io/save_grid.ts";
import type { SampleConfig } from "../presets/presets.ts";
import { defaultSamplerSteps, SAMPLER_NAMES, schedulerForSampler } from "../presets/samplers.ts";
import { loadModel } from "./_load_model.ts";
import {
  backendFlag,
  choiceFlag,
  CliError,
  etaFlag,
  intFlag,
  precisionFlag,
  runCli,
  seedFlag,
} from "./_cli.ts";
import { flag, FLAGS, MODEL_FLAGS, outFlag, parseCommand, samplerFlag } from "./_flags.ts";
import { Progress } from "./_progress.ts";
import { assertFiniteImages } from "./_finite_images.ts";
import { checkSteps } from "./_check_steps.ts";
import {
  imageFileName,
  parseShard,
  sampleToFolder,
  shardProgress,
  shardRange,
  weightsFingerprint,
} from "./_sample_folder.ts";
import { inferenceChunkSize } from "../memory/memory_limit.ts";

const COMMAND = {
  usage: "ddpm sample [flags]",
  intro:
    "Draws images with the reverse diffusion process and writes them as a PNG grid. With no\n" +
    "model flag it samples the emoji model shipped in the package (models/emoji).",
  flags: {
    ...MODEL_FLAGS,
    preset: FLAGS.untrainedPreset,
    n: flag("N", "number of images (default 16)", "Sampling:"),
    sampler: samplerFlag("(default: the preset's, else ddim)"),
    steps: flag(
      "N",
      "reverse steps (default: the preset's, else 20 for dpm, 50 for ddim,\n1000 for ddpm)",
    ),
    eta: FLAGS.eta,
    seed: FLAGS.noiseSeed,
    batch: flag(
      "N",
      "images per forward pass (default: all of them, or what fits in the\n" +
        "backend's memory limit, measured)",
    ),
    out: outFlag("PNG grid", "samples.png"),
    "out-dir": flag(
      "DIR",
      "instead of a grid, one PNG per image, DIR/000000.png ... (for FID):\n" +
        "image i depends only on --seed and i, so shards, batch sizes and\n" +
        "restarts give the same files; files already in DIR are skipped",
    ),
    shard: flag(
      "K/N",
      "with --out-dir: draw only the K-th of N contiguous ranges of the\n" +
        "--n images (default 0/1); run N processes with K = 0 .. N-1;\n" +
        "auto: K and N from a Slurm job array, a Kubernetes Indexed Job\n" +
        "(JOB_COMPLETION_INDEX, N from --shard-count) or the MPI rank",
    ),
    "shard-count": flag(
      "N",
      "with --shard auto: the number of shards (a Kubernetes Job's\ncompletions)",
    ),
    frames: flag("FILE", "also write an animated GIF of the predicted x_0 along the way"),
    "frame-count": flag("N", "frames in the GIF and columns of --progressive (default 20)"),
    progressive: flag(
      "FILE",
      "also write a PNG grid of the predicted x_0 at those steps: one row per\n" +
        "image, one column per step (the paper's Figure 6)",
    ),
    precision: FLAGS.precision,
  },
};

/** Runs `ddpm sample` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  const n = intFlag("n", flags.n, 16);
  const seed = seedFlag(flags.seed, 0);
  const chunk = flags.batch === undefined ? undefined : intFlag("batch", flags.batch, 16);
  const eta = etaFlag(flags.eta);
  const frameCount = intFlag("frame-count", flags["frame-count"], 20, 2);
  const backend = backendFlag(flags.backend);
  const out = flags.out ?? "samples.png";
  await setBackend(backend, { precision: precisionFlag(flags.precision) });

  const { unet, scheduler: schedulerConfig, what, sampleDefaults } = await loadModel(flags, {
    seed,
  });
  const defaults: Partial<SampleConfig> = sampleDefaults ?? {};

  const sampler = choiceFlag("sampler", flags.sampler, SAMPLER_NAMES, defaults.sampler ?? "ddim");
  const defaultSteps = sampler === defaults.sampler && defaults.numInferenceSteps
    ? defaults.numInferenceSteps
    : defaultSamplerSteps(sampler, schedulerConfig.numTrainTimesteps ?? 1000);
  const steps = intFlag("steps", flags.steps, defaultSteps);
  const scheduler = schedulerForSampler(sampler, schedulerConfig);
  checkSteps(scheduler, steps, what);

  if (flags["out-dir"]) {
    if (flags.out || flags.frames || flags.progressive) {
      throw new CliError(
        "--out-dir writes one PNG per image: leave out --out, --frames and --progressive",
      );
    }
    const outDir = flags["out-dir"];
    const shard = flags.shard === "auto"
      ? await _autoShard(flags["shard-count"])
      : parseShard(flags.shard);
    const [start, end] = shardRange(n, shard);
    const { resolution, inChannels } = unet.config;
    const batch = chunk ??
      await inferenceChunkSize(unet, [resolution, resolution, inChannels], 64);
    console.error(
      `ddpm: shard ${shard.index}/${shard.count}: images ${start} .. ${end - 1} of ${n} from ` +
        `${what} with ${sampler}, ${steps} steps, ${batch} per batch, into ${
          _showName(`${outDir}/${imageFileName(start, n)}`)
        } ...`,
    );
    let progress: Progress | undefined;
    const weights = unet.getWeights();
    const { written, skipped } = await sampleToFolder({
      unet,
      scheduler,
      numInferenceSteps: steps,
      eta,
      seed,
      n,
      shard,
      outDir,
      batch,
      settings: {
        sampler,
        steps,
        eta,
        seed,
        resolution,
        scheduler: JSON.stringify(scheduler.config),
        weights: await weightsFingerprint(weights),
      },
      onStart: (missing) => {
        progress = shardProgress(missing, `shard ${shard.index}/${shard.count}`);
      },
      onBatch: (done) => progress?.update(done),
    });
    console.log(
      `wrote ${written} image${written === 1 ? "" : "s"} to ${_showName(outDir)}` +
        (skipped ? ` (${skipped} already there)` : ""),
    );
    unet.dispose();
    return 0;
  }
  if (flags.shard) throw new CliError("--shard needs --out-dir");

  console.error(
    `ddpm: sampling ${n} image${n === 1 ? "" : "s"} from ${what} with ${sampler}, ${steps} steps`,
  );
  const progress = new Progress(steps, { label: "sample", unit: "steps" });
  const frameSteps = new Set(
    Array.from({ length: frameCount }, (_, i) => Math.round((i * (steps - 1)) / (frameCount - 1))),
  );
  const frames: Uint8Array[] = [];
  const progression: tf.Tensor4D[] = [];
  const cols = Math.ceil(Math.sqrt(n));
  const images = await sample({
    unet,
    scheduler,
    batchSize: n,
    numInferenceSteps: steps,
    seed,
    eta,
    chunkSize: chunk,
    onStep: async ({ step, predOriginalSample }) => {
      progress.update(step + 1);
      if (flags.frames && frameSteps.has(step)) {
        frames.push(await imagesToGrid(predOriginalSample, { cols }));
      }
      if (flags.progressive && frameSteps.has(step)) progression.push(predOriginalSample.clone());
    },
  });
  await assertFiniteImages(images, `The samples of ${what}`);
  await saveGrid(images, out, { cols });
  console.log(
    `wrote ${_showName(out)} (${n} image${
      n === 1 ? "" : "s"
    }, ${unet.config.resolution}x${unet.config.resolution})`,
  );
  if (flags.frames) {
    await saveGif(frames, flags.frames);
    console.log(
      `wrote ${_showName(flags.frames)} (${frames.length} frames of the reverse process)`,
    );
  }
  if (flags.progressive) {
    // Rows = images, columns = steps: stack on a new axis 1, then flatten row-major.
    const k = progression.length;
    const grid = tf.tidy(() =>
      tf.stack(progression, 1).reshape([n * k, ...images.shape.slice(1)]) as tf.Tensor4D
    );
    await saveGrid(grid, flags.progressive, { cols: k });
    console.log(
      `wrote ${_showName(flags.progressive)} (${n} image${
        n === 1 ? "" : "s"
      } x ${k} steps of the predicted x_0)`,
    );
    tf.dispose([grid, ...progression]);
  }
  tf.dispose(images);
  unet.dispose();
  return 0;
}

/** `--shard auto`, loaded only when asked for. */
async function _autoShard(countFlag: string | undefined) {
  const { autoShard } = await import("../distributed/auto_shard.ts");
  const count = countFlag === undefined ? undefined : intFlag("shard-count", countFlag, 1);
  try {
    const shard = autoShard({ count });
    console.error(`ddpm: --shard auto: ${shard.index}/${shard.count} from ${shard.source}`);
    return shard;
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new CliError(err.message, 2, { cause: err });
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
