// `deno task interpolate`: a row of the paper's Figure 8, two images mixed in latent space.
import { _showName } from "../_terminal_text.ts";
import * as tf from "@tensorflow/tfjs";
import { setBackend } from "../backends/set_backend.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { interpolate } from "../diffusion/interpolate.ts";
import { saveGrid } from "../io/save_grid.ts";
import { decodeImage } from "../images/image.ts";
import { backendFlag, CliError, intFlag, precisionFlag, runCli, seedFlag } from "./_cli.ts";
import { flag, FLAGS, MODEL_FLAGS, outFlag, parseCommand } from "./_flags.ts";
import { loadModel, readInput } from "./_load_model.ts";
import { Progress } from "./_progress.ts";
import { assertFiniteImages } from "./_finite_images.ts";

const COMMAND = {
  usage: "ddpm interpolate [flags]",
  intro: `Interpolates two images through the diffusion's latent space (the paper's Figure 8): both
are diffused to step t with the same noise, mixed linearly, and denoised with the reverse
process. Each row of the output starts with image a and ends with image b; in between are
the interpolations, from lambda = 0 (a's reconstruction) to 1 (b's).`,
  flags: {
    ...MODEL_FLAGS,
    a: flag("FILE", "first image, PNG or JPEG (required)", "Interpolation:"),
    b: flag("FILE", "second image, PNG or JPEG (required)"),
    t: flag(
      "N[,N...]",
      "diffusion steps, 0..T; several give one row each, e.g. 250,500,750,1000\n(default 500)",
    ),
    lambdas: flag("N", "interpolation points from 0 to 1 (default 11)"),
    seed: FLAGS.noiseSeed,
    out: outFlag("PNG grid", "interpolation.png"),
    precision: FLAGS.precision,
  },
};

/** Runs `ddpm interpolate` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  if (!flags.a || !flags.b) throw new CliError("Pass both --a and --b: the images to interpolate");
  const lambdas = intFlag("lambdas", flags.lambdas, 11, 2);
  const seed = seedFlag(flags.seed, 0);
  const items = (flags.t ?? "500").split(",").map((s) => s.trim());
  if (items.includes("")) {
    throw new CliError(
      `--t has an empty item: "${flags.t}"; give steps separated by commas, e.g. 250,500,750`,
    );
  }
  const ts = items.map((s) => intFlag("t", s, 500, 0));
  const backend = backendFlag(flags.backend);
  const out = flags.out ?? "interpolation.png";
  await setBackend(backend, { precision: precisionFlag(flags.precision) });

  const model = await loadModel(flags);
  const scheduler = new DDPMScheduler(model.scheduler);
  const T = scheduler.config.numTrainTimesteps;
  const bad = ts.find((t) => t > T);
  if (bad !== undefined) throw new CliError(`--t must be at most T = ${T}: got ${bad}`);
  const { resolution, inChannels } = model.unet.config;
  const load = async (flag: string, path: string) =>
    tf.tensor4d(await decodeImage(await readInput(flag, path), { resolution, name: path }), [
      1,
      resolution,
      resolution,
      inChannels,
    ]);
  const a = await load("a", flags.a), b = await load("b", flags.b);

  console.error(`ddpm: interpolating with ${model.what}, t = ${ts.join(", ")} of ${T}`);
  const progress = new Progress(ts.reduce((s, t) => s + t, 0), {
    label: "interpolate",
    unit: "steps",
  });
  let done = 0;
  const rows: tf.Tensor4D[] = [];
  for (const t of ts) {
    const row = await interpolate({
      unet: model.unet,
      scheduler,
      a,
      b,
      t,
      lambdas,
      seed,
      onStep: () => progress.update(++done),
    });
    rows.push(tf.concat([a, row, b]) as tf.Tensor4D);
    row.dispose();
  }
  const grid = tf.concat(rows) as tf.Tensor4D;
  await assertFiniteImages(grid, `The interpolations of ${model.what}`);
  await saveGrid(grid, out, { cols: lambdas + 2 });
  console.log(
    `wrote ${_showName(out)} (${ts.length} row(s) of ${lambdas} interpolations between a and b)`,
  );
  tf.dispose([grid, a, b, ...rows]);
  model.unet.dispose();
  return 0;
}

if (import.meta.main) runCli(() => main(Deno.args));
