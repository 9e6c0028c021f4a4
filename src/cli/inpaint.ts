// `deno task inpaint`: fill the masked part of an image with the reverse process (RePaint).
import { _showName } from "../_terminal_text.ts";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../backends/set_backend.ts";
import { inpaint } from "../diffusion/inpaint.ts";
import { defaultSamplerSteps, SAMPLER_NAMES, schedulerForSampler } from "../presets/samplers.ts";
import { saveGrid } from "../io/save_grid.ts";
import { decodeImage } from "../images/image.ts";
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
import { loadModel, readInput } from "./_load_model.ts";
import { Progress } from "./_progress.ts";
import { assertFiniteImages } from "./_finite_images.ts";
import { checkSteps } from "./_check_steps.ts";
import { readMask } from "./_inpaint_mask.ts";

const COMMAND = {
  usage: "ddpm inpaint [flags]",
  intro: `Fills the unknown part of an image with the model's reverse process, re-noising the known
part to every step's noise level (RePaint, Lugmayr et al. 2022). The output row shows the
input with its hole in grey, then the completions; known pixels are kept exactly.`,
  flags: {
    ...MODEL_FLAGS,
    image: flag("FILE", "the image, PNG or JPEG (required)", "Inpainting:"),
    mask: flag(
      "FILE",
      "PNG or JPEG of the same framing: white = known, black = to fill\n(required)",
    ),
    n: flag("N", "number of completions (default 4)"),
    sampler: samplerFlag("(default ddpm)"),
    steps: flag("N", "reverse steps (default: T for ddpm, 50 for ddim, 20 for dpm)"),
    resample: flag(
      "N",
      "RePaint resampling: tries per step, 1 = none (default 1; RePaint uses 10)",
    ),
    eta: FLAGS.eta,
    seed: FLAGS.noiseSeed,
    out: outFlag("PNG grid", "inpainted.png"),
    precision: FLAGS.precision,
  },
};

/** Runs `ddpm inpaint` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  if (!flags.image || !flags.mask) {
    throw new CliError("Pass both --image and --mask (white = known, black = to fill)");
  }
  const n = intFlag("n", flags.n, 4);
  const resample = intFlag("resample", flags.resample, 1);
  const eta = etaFlag(flags.eta);
  const seed = seedFlag(flags.seed, 0);
  const sampler = choiceFlag("sampler", flags.sampler, SAMPLER_NAMES, "ddpm");
  if ((sampler === "dpm" || sampler === "dpm-sde") && resample > 1) {
    // A multistep solver's history assumes each step is taken once, in order.
    throw new CliError(`--resample needs --sampler ddpm or ddim: ${sampler} takes each step once`);
  }
  const backend = backendFlag(flags.backend);
  const out = flags.out ?? "inpainted.png";
  await setBackend(backend, { precision: precisionFlag(flags.precision) });

  const model = await loadModel(flags);
  const scheduler = schedulerForSampler(sampler, model.scheduler);
  const T = scheduler.config.numTrainTimesteps;
  const steps = intFlag("steps", flags.steps, defaultSamplerSteps(sampler, T));
  checkSteps(scheduler, steps, model.what);
  const { resolution, inChannels } = model.unet.config;
  const shape: [number, number, number, number] = [1, resolution, resolution, inChannels];
  const imageBytes = await readInput("image", flags.image);
  const pixels = await decodeImage(imageBytes, { resolution, name: flags.image });
  const known = await readMask(
    { flag: "image", path: flags.image, bytes: imageBytes },
    { flag: "mask", path: flags.mask, bytes: await readInput("mask", flags.mask) },
    resolution,
  );
  const image = tf.tile(tf.tensor4d(pixels, shape), [n, 1, 1, 1]) as tf.Tensor4D;
  const mask = tf.tensor4d(known, [1, resolution, resolution, 1]);
  const holes = known.length - known.reduce((s, v) => s + v, 0);
  console.error(
    `ddpm: inpainting ${holes} of ${known.length} pixels with ${model.what}, ` +
      `${sampler} ${steps} steps x ${resample}`,
  );
  const progress = new Progress(steps, { label: "inpaint", unit: "steps" });
  const filled = await inpaint({
    unet: model.unet,
    scheduler,
    image,
    mask,
    numInferenceSteps: steps,
    resampleSteps: resample,
    eta,
    seed,
    onStep: ({ step }) => progress.update(step + 1),
  });
  await assertFiniteImages(filled, `The completions of ${model.what}`);
  // The input with its hole shown in grey (0), then the completions.
  const input = tf.tidy(() => image.slice([0, 0, 0, 0], shape).mul(mask) as tf.Tensor4D);
  const grid = tf.concat([input, filled]) as tf.Tensor4D;
  await saveGrid(grid, out, { cols: n + 1 });
  console.log(`wrote ${_showName(out)} (the input and ${n} completion(s))`);
  tf.dispose([image, mask, filled, input, grid]);
  model.unet.dispose();
  return 0;
}

if (import.meta.main) runCli(() => main(Deno.args));
