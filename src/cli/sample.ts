// `deno task sample`: draw images from a trained run, a diffusers model, or a fresh preset.
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../backends/set_backend.ts";
import { DDIMScheduler } from "../diffusion/ddim_scheduler.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { sample } from "../diffusion/sample.ts";
import { saveGif } from "../images/gif.ts";
import { imagesToGrid } from "../images/grid.ts";
import { saveGrid } from "../io/save_grid.ts";
import type { SampleConfig } from "../presets/presets.ts";
import { loadModel } from "./_load_model.ts";
import {
  backendFlag,
  choiceFlag,
  CliError,
  intFlag,
  numberFlag,
  parseFlags,
  runCli,
} from "./_cli.ts";
import { Progress } from "./_progress.ts";

const HELP = `Usage: deno task sample [flags]

Draws images with the reverse diffusion process and writes them as a PNG grid.

Model (one of):
  --checkpoint PATH   run folder or checkpoint file written by \`deno task train\`
                      (default: runs/tiny if it exists)
  --pretrained DIR    diffusers model folder (config.json + diffusion_pytorch_model.*)
  --preset NAME       an untrained model: tiny, cifar10, celebahq256, lsun256

Sampling:
  --n N               number of images (default 16)
  --sampler NAME      ddpm (ancestral, the paper) or ddim (default: the preset's, else ddim)
  --steps N           reverse steps (default: the preset's, else 50 for ddim, 1000 for ddpm)
  --eta X             DDIM noise scale, 0 = deterministic (default 0)
  --seed N            seed of the noise (default 0)
  --batch N           images per forward pass (default: all of them, or what fits in the
                      backend's memory limit, measured)

Output:
  --out FILE          PNG grid (default samples.png)
  --frames FILE       also write an animated GIF of the predicted x_0 along the way
  --frame-count N     frames in the GIF and columns of --progressive (default 20)
  --progressive FILE  also write a PNG grid of the predicted x_0 at those steps: one row per
                      image, one column per step (the paper's Figure 6)
  --backend NAME      auto, onednn, wasm, cpu, webgpu, tensorflow (default auto)
  -h, --help          show this help
`;

async function main(): Promise<number> {
  const flags = parseFlags(Deno.args, {
    checkpoint: { type: "string" },
    pretrained: { type: "string" },
    preset: { type: "string" },
    n: { type: "string" },
    sampler: { type: "string" },
    steps: { type: "string" },
    eta: { type: "string" },
    seed: { type: "string" },
    batch: { type: "string" },
    out: { type: "string" },
    frames: { type: "string" },
    "frame-count": { type: "string" },
    progressive: { type: "string" },
    backend: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  const n = intFlag("n", flags.n, 16);
  const seed = intFlag("seed", flags.seed, 0, 0);
  const chunk = flags.batch === undefined ? undefined : intFlag("batch", flags.batch, 16);
  const eta = numberFlag("eta", flags.eta, 0);
  const frameCount = intFlag("frame-count", flags["frame-count"], 20, 2);
  const backend = backendFlag(flags.backend);
  const out = flags.out ?? "samples.png";
  await setBackend(backend);

  const { unet, scheduler: schedulerConfig, what, sampleDefaults } = await loadModel(flags, {
    seed,
  });
  const defaults: Partial<SampleConfig> = sampleDefaults ?? {};

  const sampler = choiceFlag(
    "sampler",
    flags.sampler,
    ["ddpm", "ddim"],
    defaults.sampler ?? "ddim",
  );
  const defaultSteps = sampler === defaults.sampler && defaults.numInferenceSteps
    ? defaults.numInferenceSteps
    : sampler === "ddim"
    ? 50
    : 1000;
  const steps = intFlag("steps", flags.steps, defaultSteps);
  const scheduler = sampler === "ddim"
    ? new DDIMScheduler(schedulerConfig)
    : new DDPMScheduler(schedulerConfig);
  const T = scheduler.config.numTrainTimesteps;
  if (steps > T) throw new CliError(`--steps must be at most T = ${T}: got ${steps}`);

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
  await saveGrid(images, out, { cols });
  console.log(
    `wrote ${out} (${n} image${
      n === 1 ? "" : "s"
    }, ${unet.config.resolution}x${unet.config.resolution})`,
  );
  if (flags.frames) {
    await saveGif(frames, flags.frames);
    console.log(`wrote ${flags.frames} (${frames.length} frames of the reverse process)`);
  }
  if (flags.progressive) {
    // Rows = images, columns = steps: stack on a new axis 1, then flatten row-major.
    const k = progression.length;
    const grid = tf.tidy(() =>
      tf.stack(progression, 1).reshape([n * k, ...images.shape.slice(1)]) as tf.Tensor4D
    );
    await saveGrid(grid, flags.progressive, { cols: k });
    console.log(
      `wrote ${flags.progressive} (${n} image${
        n === 1 ? "" : "s"
      } x ${k} steps of the predicted x_0)`,
    );
    tf.dispose([grid, ...progression]);
  }
  tf.dispose(images);
  unet.dispose();
  return 0;
}

if (import.meta.main) runCli(main);
