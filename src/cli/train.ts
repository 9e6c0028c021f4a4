// `deno task train`: train a preset on a folder of images, CIFAR-10, or the built-in emoji.
import { _showName } from "../_terminal_text.ts";
import { type Precision, PRECISIONS } from "../backends/onednn/precision.ts";
import { setBackend } from "../backends/set_backend.ts";
import { detectLauncher } from "../distributed/launcher.ts";
import type { PresetName } from "../presets/presets.ts";
import { train } from "../train/train.ts";
import type { TrainConfig } from "../presets/train_config.ts";
import {
  backendFlag,
  choiceFlag,
  CliError,
  intFlag,
  numberFlag,
  precisionFlag,
  presetFlag,
  runCli,
  seedFlag,
} from "./_cli.ts";
import { type Command, flag, FLAGS, type FlagSpec, parseCommand } from "./_flags.ts";
import { formatDuration, Progress } from "./_progress.ts";
import { resumeHint } from "./_resume_hint.ts";
import { StopRequests } from "./_stop_requests.ts";

const COMMAND = {
  usage: "ddpm train [flags]",
  intro: `Trains a DDPM with the paper's recipe (L_simple, Adam, warmup, clipping, EMA) and writes a
resumable run folder: config.json, checkpoints/, samples/, metrics.jsonl, loss.png.
With no flags it trains the tiny preset on the built-in emoji faces, hearts and hands.`,
  flags: {
    data: flag(
      "SOURCE",
      "a folder of PNG/JPEG images, a CIFAR-10 .bin file or folder, or\n" +
        '"emoji" (3,786 images from emoji-datasource-google) or "emoji:faces"\n' +
        "(its 212 faces, hearts and hands; the default)",
      "",
    ),
    preset: FLAGS.trainPreset,
    out: flag("DIR", "run folder (default runs/<preset>)"),
    steps: flag("N", "total steps (default: the preset's; tiny: 1200)"),
    "batch-size": flag("N", "images per step (default: the preset's; tiny: 8)"),
    "micro-batch": flag(
      "N",
      "most images per forward/backward pass; the passes' gradients add up\n" +
        "to one step of the whole batch (default: chosen from the backend's\n" +
        "memory limit, printed at the start and kept in config.json)",
    ),
    lr: flag("X", "peak learning rate (default: the preset's; tiny: 1e-3)"),
    "lr-decay": flag(
      "KIND",
      "after warmup: constant (the paper's) or cosine, down to 0 at the last\n" +
        "step (default: the preset's; tiny: constant)",
    ),
    "sample-every": flag(
      "N",
      "write a grid of EMA samples every N steps, 0 = never\n(default: the preset's; tiny: 500)",
    ),
    "checkpoint-every": flag(
      "N",
      "write a checkpoint every N steps (default: the preset's; tiny: 500)",
    ),
    resume: {
      type: "boolean",
      help: "continue the run in --out from its last checkpoint (default: off)",
    },
    seed: flag(
      "N",
      "seed of the weights, the shuffle and the noise, 0 to 4294967295\n(default 0)",
    ),
    distributed: flag(
      "KIND",
      "mpi: data-parallel over the ranks of an MPI job; none: one process\n" +
        "(default: mpi when started by mpirun, mpiexec or srun with 2+ ranks)",
    ),
    precision: FLAGS.precision,
  },
  outro: `Ctrl-C or SIGTERM finishes the current step, writes a checkpoint and exits (130 or 143);
--resume continues. On --resume, --data, --steps, --batch-size, --lr, --lr-decay, --sample-every,
--checkpoint-every and --precision replace the run's values (recorded in config.json); --preset
and --seed must match the run's.
Under mpirun/srun every rank computes its share of each batch and the gradients are summed
(N ranks take the steps of one process); rank 0 alone writes the run folder.`,
} satisfies Command<Record<string, FlagSpec>>;

/** Runs `ddpm train` with the arguments after its name; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  const presetName = flags.preset ?? "tiny";
  const preset = presetFlag(presetName);
  const overrides: Partial<TrainConfig> = {};
  const given = (name: keyof typeof flags) => flags[name] !== undefined;
  if (given("steps")) overrides.steps = intFlag("steps", flags.steps, 0);
  if (given("batch-size")) overrides.batchSize = intFlag("batch-size", flags["batch-size"], 0);
  if (given("micro-batch")) {
    overrides.microBatchSize = intFlag("micro-batch", flags["micro-batch"], 0);
  }
  if (given("lr")) overrides.learningRate = numberFlag("lr", flags.lr, 0, Number.MIN_VALUE);
  if (given("lr-decay")) {
    overrides.lrDecay = choiceFlag(
      "lr-decay",
      flags["lr-decay"],
      ["constant", "cosine"] as const,
      "constant",
    );
  }
  if (given("sample-every")) {
    overrides.sampleEvery = intFlag("sample-every", flags["sample-every"], 0, 0);
  }
  if (given("checkpoint-every")) {
    overrides.checkpointEvery = intFlag("checkpoint-every", flags["checkpoint-every"], 0);
  }
  const seed = given("seed") ? seedFlag(flags.seed, 0) : undefined;
  const backend = backendFlag(flags.backend);
  const outDir = flags.out ?? `runs/${presetName}`;
  const data = flags.data;
  if (data !== undefined && data !== "emoji" && data !== "emoji:faces") {
    try {
      await Deno.stat(data);
    } catch {
      throw new CliError(
        `--data ${data}: no such file or folder. Give a folder of PNG/JPEG images, a CIFAR-10 ` +
          '.bin file or folder, or "emoji".',
      );
    }
  }
  const distributed = await _startDistributed(flags.distributed);
  // --resume keeps the run's precision unless --precision is given; config.json records it.
  const precision = given("precision")
    ? precisionFlag(flags.precision)
    : flags.resume
    ? await recordedPrecision(outDir)
    : "fp32";
  if (given("precision") || !flags.resume) overrides.precision = precision;
  await setBackend(backend, { precision });

  // Ctrl-C, and SIGTERM from `timeout`, `docker stop` or a cluster's pre-emption, finish the
  // step and write a checkpoint; a second signal quits at once (`_stop_requests.ts`).
  const stops = new StopRequests();
  const controller = stops.controller;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => () => {
    const request = stops.receive(signal);
    if (request === "quit") Deno.exit(stops.exitCode);
    if (request === "repeat") return;
    console.error(
      `\nddpm: ${signal === "SIGTERM" ? "terminated" : "interrupted"}; finishing this step and ` +
        "writing a checkpoint (send it again to quit now)",
    );
  };
  const handlers = { SIGINT: onSignal("SIGINT"), SIGTERM: onSignal("SIGTERM") } as const;
  for (const [sig, fn] of Object.entries(handlers)) {
    Deno.addSignalListener(sig as Deno.Signal, fn);
  }

  const total = overrides.steps ?? preset.train.steps;
  let progress: Progress | undefined;
  const started = performance.now();
  const result = await train({
    outDir,
    preset: flags.preset === undefined && flags.resume ? undefined : presetName as PresetName,
    train: overrides,
    data,
    resume: flags.resume ?? false,
    seed,
    signal: controller.signal,
    collective: distributed,
    onStep: (m) => {
      if (distributed && distributed.rank !== 0) return;
      // Timed from the first finished step, which also carries start-up costs.
      progress ??= new Progress(total, { label: "train", unit: "steps", done: m.step });
      progress.update(m.step, `loss ${m.loss.toFixed(4)} ${m.imagesPerSec.toFixed(1)} img/s`);
    },
  });
  for (const [sig, fn] of Object.entries(handlers)) {
    Deno.removeSignalListener(sig as Deno.Signal, fn);
  }

  distributed?.finalize();
  // Data-parallel ranks stop for the same reason, whichever rank the signal reached.
  let exitCode = stops.exitCode;
  if (result.stopReason === "SIGTERM" || result.stopReason === "SIGINT") {
    exitCode = result.stopReason === "SIGTERM" ? 143 : 130;
  }
  if (distributed && distributed.rank !== 0) {
    console.error(`ddpm: rank ${distributed.rank}: ${result.status} at step ${result.step}`);
    return result.status === "interrupted" ? exitCode : 0;
  }
  const took = formatDuration((performance.now() - started) / 1000);
  console.log(
    `ddpm: ${result.status} at step ${result.step} in ${took}, loss ${result.loss.toFixed(4)}`,
  );
  console.log(`  checkpoint: ${_showName(result.checkpoint)}`);
  console.log(
    `  samples:    ${_showName(`${outDir}/samples/`)}   loss curve: ${
      _showName(`${outDir}/loss.png`)
    }`,
  );
  console.log(`  sample it:  deno task sample --checkpoint ${_showName(outDir)} --out samples.png`);
  console.log(`  ${resumeHint(_showName(outDir), result)}`);
  return result.status === "interrupted" ? exitCode : 0;
}

/**
 * Joins the MPI job this process was started in (or `--distributed mpi` forces): threads per
 * rank first, then libmpi, loaded only here and only then.
 */
async function _startDistributed(
  value: string | undefined,
): Promise<import("../distributed/mpi_collective.ts").MpiCollective | undefined> {
  if (value !== undefined && value !== "mpi" && value !== "none") {
    throw new CliError(`--distributed must be mpi or none: got "${value}"`);
  }
  const launch = detectLauncher();
  if (value === "none" || (value === undefined && !launch)) return undefined;
  const { applyThreadsPerRank } = await import("../distributed/threads_per_rank.ts");
  const threads = launch ? applyThreadsPerRank(launch) : undefined;
  const { openMpiCollective } = await import("../distributed/mpi_collective.ts");
  let mpi;
  try {
    mpi = openMpiCollective();
  } catch (err) {
    throw new CliError((err as Error).message, 2, { cause: err });
  }
  if (launch && mpi.size !== launch.size) {
    throw new CliError(
      `${launch.launcher} started ${launch.size} processes but MPI sees ${mpi.size}: each ` +
        "started alone. Under Slurm use srun --mpi=pmix (or the PMI your MPI was built with).",
    );
  }
  if (mpi.rank === 0) {
    console.error(
      `ddpm: data-parallel on ${mpi.size} ranks (${mpi.library})` +
        (threads ? `, ${threads} thread${threads === 1 ? "" : "s"} each` : ""),
    );
  }
  return mpi;
}

/** The precision a run folder's config.json records; fp32 when it records none. */
async function recordedPrecision(outDir: string): Promise<Precision> {
  let json: { train?: { precision?: unknown } } | undefined;
  try {
    json = JSON.parse(await Deno.readTextFile(`${outDir}/config.json`));
  } catch {
    return "fp32"; // no readable config: train() says what is wrong with the run
  }
  const recorded = json?.train?.precision;
  return PRECISIONS.includes(recorded as Precision) ? recorded as Precision : "fp32";
}

if (import.meta.main) runCli(() => main(Deno.args));
