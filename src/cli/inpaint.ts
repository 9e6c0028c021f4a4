// `deno task inpaint`: fill the masked part of an image with the reverse process (RePaint).
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../backends/set_backend.ts";
import { DDIMScheduler } from "../diffusion/ddim_scheduler.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { inpaint } from "../diffusion/inpaint.ts";
import { saveGrid } from "../io/save_grid.ts";
import { decodeImage, decodeImageRgb8 } from "../images/image.ts";
import {
  backendFlag,
  choiceFlag,
  CliError,
  intFlag,
  numberFlag,
  parseFlags,
  runCli,
} from "./_cli.ts";
import { loadModel, MODEL_HELP, readInput } from "./_load_model.ts";
import { Progress } from "./_progress.ts";

const HELP = `Usage: deno task inpaint [flags]

Fills the unknown part of an image with the model's reverse process, re-noising the known
part to every step's noise level (RePaint, Lugmayr et al. 2022). The output row shows the
input with its hole in grey, then the completions; known pixels are kept exactly.

${MODEL_HELP}

Inpainting:
  --image FILE        the image, PNG or JPEG (required)
  --mask FILE         PNG or JPEG of the same framing: white = known, black = to fill
                      (required)
  --n N               number of completions (default 4)
  --sampler NAME      ddpm (ancestral, the paper) or ddim (default ddpm)
  --steps N           reverse steps (default: T for ddpm, 50 for ddim)
  --resample N        RePaint resampling: tries per step, 1 = none (default 1; RePaint uses 10)
  --eta X             DDIM noise scale (default 0)
  --seed N            seed of the noise (default 0)

Output:
  --out FILE          PNG grid (default inpainted.png)
  --backend NAME      auto, onednn, wasm, cpu, webgpu, tensorflow (default auto)
  -h, --help          show this help
`;

async function main(): Promise<number> {
  const flags = parseFlags(Deno.args, {
    checkpoint: { type: "string" },
    pretrained: { type: "string" },
    image: { type: "string" },
    mask: { type: "string" },
    n: { type: "string" },
    sampler: { type: "string" },
    steps: { type: "string" },
    resample: { type: "string" },
    eta: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    backend: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  if (!flags.image || !flags.mask) {
    throw new CliError("Pass both --image and --mask (white = known, black = to fill)");
  }
  const n = intFlag("n", flags.n, 4);
  const resample = intFlag("resample", flags.resample, 1);
  const eta = numberFlag("eta", flags.eta, 0);
  const seed = intFlag("seed", flags.seed, 0, 0);
  const sampler = choiceFlag("sampler", flags.sampler, ["ddpm", "ddim"], "ddpm");
  const backend = backendFlag(flags.backend);
  const out = flags.out ?? "inpainted.png";
  await setBackend(backend);

  const model = await loadModel(flags);
  const scheduler = sampler === "ddim"
    ? new DDIMScheduler(model.scheduler)
    : new DDPMScheduler(model.scheduler);
  const T = scheduler.config.numTrainTimesteps;
  const steps = intFlag("steps", flags.steps, sampler === "ddim" ? Math.min(50, T) : T);
  if (steps > T) throw new CliError(`--steps must be at most T = ${T}: got ${steps}`);
  const { resolution, inChannels } = model.unet.config;
  const shape: [number, number, number, number] = [1, resolution, resolution, inChannels];
  const pixels = await decodeImage(await readInput("image", flags.image), {
    resolution,
    name: flags.image,
  });
  const rgb = await decodeImageRgb8(await readInput("mask", flags.mask), {
    resolution,
    name: flags.mask,
  });
  const known = new Float32Array(resolution * resolution);
  for (let i = 0; i < known.length; i++) {
    known[i] = rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2] >= 3 * 128 ? 1 : 0;
  }
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
  // The input with its hole shown in grey (0), then the completions.
  const input = tf.tidy(() => image.slice([0, 0, 0, 0], shape).mul(mask) as tf.Tensor4D);
  const grid = tf.concat([input, filled]) as tf.Tensor4D;
  await saveGrid(grid, out, { cols: n + 1 });
  console.log(`wrote ${out} (the input and ${n} completion(s))`);
  tf.dispose([image, mask, filled, input, grid]);
  model.unet.dispose();
  return 0;
}

if (import.meta.main) runCli(main);
