// `deno task eval`: the variational bound on the NLL in bits/dim (the paper's Table 1).
import { _showName } from "../_terminal_text.ts";
import { setBackend } from "../backends/set_backend.ts";
import { DDPMScheduler } from "../diffusion/ddpm_scheduler.ts";
import { evaluateNll } from "../diffusion/nll.ts";
import { loadDataset } from "../data/dataset.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { backendFlag, CliError, intFlag, precisionFlag, runCli, seedFlag } from "./_cli.ts";
import { flag, FLAGS, MODEL_FLAGS, outFlag, parseCommand } from "./_flags.ts";
import { loadModel } from "./_load_model.ts";
import { Progress } from "./_progress.ts";
import { saveTermsPlot } from "./_terms_plot.ts";

const COMMAND = {
  usage: "ddpm eval [flags]",
  intro: `Evaluates the variational bound on the negative log-likelihood (the paper's eq. 5 and
Table 1) in bits per dimension: the prior term L_T, the KL terms and the discretized decoder
L_0. The exact bound costs T forward passes per image (T = 1000 for the paper's models).`,
  flags: {
    ...MODEL_FLAGS,
    data: flag(
      "SRC",
      "images to score: a folder of PNG/JPEG, a CIFAR-10 .bin file or folder\n" +
        '(test_batch.bin for Table 1), or "emoji" (default: the run\'s data)',
      "Data:",
    ),
    n: flag("N", "number of images, the first N of the source (default 16)"),
    timesteps: flag(
      "N",
      "timesteps per image: all T gives the bound itself; fewer gives an\n" +
        "unbiased estimate (L_0 exact, N - 1 KL terms sampled) (default: all)",
      "Evaluation:",
    ),
    batch: flag(
      "N",
      "image-timestep pairs per forward pass (default 16, fewer when the\n" +
        "backend's memory limit needs it)",
    ),
    seed: flag("N", "seed of the forward-process noise (default 0)"),
    out: outFlag("per-timestep terms and totals as JSON", "nll.json"),
    plot: flag("FILE", "the terms against t as a PNG (default nll.png)"),
    precision: FLAGS.precision,
  },
};

/** Runs `ddpm eval` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  const n = intFlag("n", flags.n, 16);
  const batch = flags.batch === undefined ? undefined : intFlag("batch", flags.batch, 16);
  const seed = seedFlag(flags.seed, 0);
  const backend = backendFlag(flags.backend);
  const out = flags.out ?? "nll.json";
  const plot = flags.plot ?? "nll.png";
  await setBackend(backend, { precision: precisionFlag(flags.precision) });

  const model = await loadModel(flags);
  const scheduler = new DDPMScheduler(model.scheduler);
  const T = scheduler.config.numTrainTimesteps;
  const numTimesteps = intFlag("timesteps", flags.timesteps, T, 2);
  if (numTimesteps > T) {
    throw new CliError(`--timesteps must be at most T = ${T}: got ${numTimesteps}`);
  }
  const source = flags.data ?? model.data;
  if (!source) throw new CliError('Pass --data: a folder of images, a CIFAR-10 file or "emoji"');
  const data = await loadDataset(source, { resolution: model.unet.config.resolution });
  const count = Math.min(n, data.size);
  const images = data.getBatch(Array.from({ length: count }, (_, i) => i));

  const exact = numTimesteps === T;
  console.error(
    `ddpm: bound of ${model.what} on ${count} images of ${_showName(String(source))}, ` +
      (exact ? `all ${T} timesteps` : `${numTimesteps} of ${T} timesteps (estimate)`),
  );
  const progress = new Progress(count * numTimesteps, { label: "eval", unit: "terms" });
  const nll = await evaluateNll({
    unet: model.unet,
    scheduler,
    images,
    batchSize: batch,
    numTimesteps,
    seed,
    onProgress: ({ done }) => progress.update(done),
  });
  images.dispose();
  model.unet.dispose();

  const per = nll.perImageBitsPerDim;
  const mean = nll.bitsPerDim;
  const sd = Math.sqrt(per.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, count - 1));
  const kl = mean - nll.priorBitsPerDim - nll.decoderBitsPerDim;
  console.log(
    `NLL ${exact ? "<=" : "<= (estimated)"} ${mean.toFixed(4)} bits/dim ` +
      `(± ${(sd / Math.sqrt(count)).toFixed(4)} s.e. over ${count} images)`,
  );
  console.log(
    `  prior L_T ${nll.priorBitsPerDim.toFixed(5)}, KL terms ${kl.toFixed(4)}, ` +
      `decoder L_0 ${nll.decoderBitsPerDim.toFixed(4)}`,
  );
  const json = {
    model: model.what,
    data: source,
    numImages: count,
    numTrainTimesteps: T,
    estimate: !exact,
    bitsPerDim: mean,
    standardError: sd / Math.sqrt(count),
    priorBitsPerDim: nll.priorBitsPerDim,
    klBitsPerDim: kl,
    decoderBitsPerDim: nll.decoderBitsPerDim,
    timesteps: Array.from(nll.timesteps),
    // JSON has no NaN: terms that were not evaluated are null.
    termsBitsPerDim: Array.from(nll.termsBitsPerDim, (v) => (Number.isNaN(v) ? null : v)),
    perImageBitsPerDim: Array.from(per),
  };
  await _writeFileAtomic(out, JSON.stringify(json, null, 1) + "\n");
  await saveTermsPlot(plot, nll.termsBitsPerDim);
  console.log(`wrote ${_showName(out)} and ${_showName(plot)} (terms over t = 0..${T - 1})`);
  return 0;
}

if (import.meta.main) runCli(() => main(Deno.args));
