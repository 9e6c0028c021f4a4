// `deno task fid`: FID (and the Inception Score) of a folder of samples, as pytorch-fid and
// torch-fidelity compute them, from the user's copy of the FID Inception weights.
import { setBackend } from "../backends/set_backend.ts";
import { InceptionV3 } from "../metrics/inception.ts";
import { INCEPTION_SHA256_PREFIX, INCEPTION_WEIGHTS_FILE } from "../metrics/inception_weights.ts";
import { type ActivationStats, frechetDistance } from "../metrics/frechet_distance.ts";
import { inceptionPass } from "../metrics/fid.ts";
import { INCEPTION_CLASSES, INCEPTION_POOL_FEATURES } from "../metrics/inception_layers.ts";
import { inceptionScoreFromLogits } from "../metrics/inception_score_math.ts";
import { type ImageSource, openImageSource } from "../metrics/image_source.ts";
import { _showName } from "../_terminal_text.ts";
import { loadActivationStats, saveActivationStats } from "../metrics/stats_file.ts";
import { type CountedStats, mergeActivationStats } from "../metrics/merge_stats.ts";
import { backendFlag, CliError, intFlag, runCli } from "./_cli.ts";
import { flag, parseCommand } from "./_flags.ts";
import { Progress } from "./_progress.ts";

const COMMAND = {
  usage: "ddpm fid [flags]",
  intro: `Computes FID between --samples and --ref as pytorch-fid does (Inception-v3 pool3 features,
bilinear resize to 299 with align_corners=False, float64 statistics), and with --is the
Inception Score as torch-fidelity does (10 splits). Prints one line per score.`,
  flags: {
    samples: flag(
      "PATH",
      "the images to score, e.g. what \`deno task sample --out-dir\` wrote",
      "Inputs (a folder of PNG/JPEG images, a CIFAR-10 .bin batch or the cifar-10-batches-bin\n" +
        "folder, or a .npz of statistics with arrays mu and sigma, as pytorch-fid saves them):",
    ),
    ref: flag(
      "PATH",
      "the reference set, e.g. cifar-10-batches-bin/ or its saved .npz\n" +
        "(without --ref, only --save-stats and --is are computed)",
    ),
    "save-stats": flag(
      "FILE",
      "also save the samples' statistics as a .npz (pytorch-fid's format,\n" +
        "plus n, the image count, which pytorch-fid ignores)",
    ),
    "merge-stats": flag(
      "OUT",
      "OUT.npz PART.npz PART.npz ...: pool shards' --save-stats files into\n" +
        "the statistics of all their images (float64, exact); with --ref,\n" +
        "also print the FID of all of them",
    ),
    inception: flag(
      "PATH",
      `pytorch-fid's ${INCEPTION_WEIGHTS_FILE} (default: $DDPM_INCEPTION)`,
      "Network:",
    ),
    is: {
      type: "boolean",
      help: "also compute the Inception Score of --samples (a second pass with\n" +
        "torch-fidelity's preprocessing)",
    },
    splits: flag("N", "splits of the Inception Score (default 10)"),
    batch: flag("N", "images per forward pass (default 16)"),
    // For the tests' speed only: a smaller network input than the 299 both tools use.
    size: flag("N", "network input side (default 299; smaller only for tests)"),
  },
} as const;

/** Runs `ddpm fid` with the arguments after its name; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const { args, parts } = _mergeParts(argv);
  const flags = parseCommand(COMMAND, args);
  if (!flags) return 0;
  if (flags["merge-stats"] !== undefined) {
    if (flags.samples || flags["save-stats"] || flags.is) {
      throw new CliError(
        "--merge-stats takes .npz parts only: leave out --samples, --save-stats, --is",
      );
    }
    flags.samples = await _mergeStats(flags["merge-stats"], parts);
    if (!flags.ref) return 0;
  }
  if (!flags.samples) {
    throw new CliError("Pass --samples: a folder of images or a .npz of statistics");
  }
  if (!flags.ref && !flags.is && !flags["save-stats"]) {
    throw new CliError("Nothing to compute: pass --ref for FID, --is, or --save-stats");
  }
  const batch = intFlag("batch", flags.batch, 16);
  const splits = intFlag("splits", flags.splits, 10);
  const size = intFlag("size", flags.size, 299, 75);
  const samplesAreStats = /\.npz$/i.test(flags.samples);
  if (samplesAreStats && (flags.is || flags["save-stats"])) {
    throw new CliError("--is and --save-stats need images as --samples, not a .npz of statistics");
  }
  // Everything that can be checked without the network is checked before it is loaded and
  // before the first Inception pass, so a bad --splits or --ref fails in a second, not an hour.
  const open = async (path: string, which: "samples" | "reference") => {
    if (/\.npz$/i.test(path)) return { stats: await loadActivationStats(path) };
    const source = await openImageSource(path);
    if (source.count < 2) {
      throw new CliError(
        `--${
          which === "samples" ? "samples" : "ref"
        } ${source.description}: FID and IS need at least 2 images`,
      );
    }
    return { source };
  };
  const samplesIn = await open(flags.samples, "samples");
  if (flags.is && samplesIn.source && samplesIn.source.count < splits) {
    throw new CliError(
      `--is with ${splits} splits needs at least ${splits} images: got ${samplesIn.source.count}`,
    );
  }
  const refIn = flags.ref ? await open(flags.ref, "reference") : undefined;
  const dims = (input: { stats?: ActivationStats }) =>
    input.stats ? input.stats.mu.length : INCEPTION_POOL_FEATURES;
  if (refIn && dims(samplesIn) !== dims(refIn)) {
    const what = (flag: string, path: string, input: { stats?: ActivationStats }) =>
      input.stats
        ? `${flag} ${_showName(path)} holds ${dims(input)}-dimensional statistics`
        : `${flag} are images, whose Inception pool3 features are ${INCEPTION_POOL_FEATURES}-dimensional`;
    throw new CliError(
      `${what("--samples", flags.samples, samplesIn)} and ${what("--ref", flags.ref!, refIn)}: ` +
        `both must come from the Inception pool3 features (${INCEPTION_POOL_FEATURES})`,
    );
  }
  if (flags["save-stats"]) {
    const out = flags["save-stats"];
    const slash = out.lastIndexOf("/");
    const parent = slash < 0 ? "." : slash === 0 ? "/" : out.slice(0, slash);
    const info = await Deno.stat(parent).catch(() => null);
    if (!info?.isDirectory) {
      throw new CliError(
        `--save-stats ${
          _showName(flags["save-stats"])
        }: its folder does not exist; create it first`,
      );
    }
  }
  const needsNetwork = !samplesAreStats || (refIn !== undefined && !refIn.stats);
  let inception: InceptionV3 | undefined;
  if (needsNetwork) {
    await setBackend(backendFlag(flags.backend));
    inception = await InceptionV3.load(flags.inception);
    console.error(
      inception.isPublished
        ? `ddpm: Inception weights ${_showName(String(inception.path))} (pytorch-fid's, sha256 ${
          inception.sha256!.slice(0, 8)
        })`
        : `ddpm: warning: ${
          _showName(String(inception.path))
        } is not pytorch-fid's ${INCEPTION_WEIGHTS_FILE} ` +
          `(its sha256 starts ${inception.sha256!.slice(0, 8)}, not ${INCEPTION_SHA256_PREFIX}): ` +
          `scores will not be comparable with published ones`,
    );
  }
  try {
    const statsOf = async (
      input: { stats?: ActivationStats; source?: ImageSource },
      which: string,
      withIs: boolean,
    ) => {
      if (input.stats) return { stats: input.stats };
      const source = input.source!;
      const passes = withIs ? "FID and IS passes" : "FID pass";
      console.error(`ddpm: ${which}: ${source.description} (${passes}, batches of ${batch})`);
      const progress = new Progress(source.count, { label: which, unit: "img" });
      return await inceptionPass(source, {
        inception: inception!,
        batchSize: batch,
        size,
        fid: which === "reference" || flags.ref !== undefined || !!flags["save-stats"],
        inceptionScore: withIs,
        onProgress: (done) => progress.update(done),
      });
    };
    const samples = await statsOf(samplesIn, "samples", !!flags.is);
    if (flags["save-stats"] && samples.stats) {
      await saveActivationStats(flags["save-stats"], {
        ...samples.stats,
        n: "count" in samples ? samples.count : undefined,
      });
      console.error(`ddpm: wrote ${_showName(flags["save-stats"])}`);
    }
    if (refIn) {
      const ref = await statsOf(refIn, "reference", false);
      let value: number;
      try {
        value = frechetDistance(samples.stats as ActivationStats, ref.stats as ActivationStats);
      } catch (err) {
        // A covariance that is not positive semi-definite: statistics from a damaged file.
        if (!(err instanceof RangeError)) throw err;
        throw new CliError(`Cannot compare --samples and --ref: ${err.message}`, 2, { cause: err });
      }
      // Identical sets give 0 up to rounding, which may be a hair below it.
      console.log(`FID ${Math.max(0, value).toFixed(4)}`);
    }
    if (flags.is && "logitsUnbiased" in samples && samples.logitsUnbiased) {
      const count = samples.count;
      const is = inceptionScoreFromLogits(samples.logitsUnbiased, INCEPTION_CLASSES, { splits });
      console.log(
        `IS ${is.mean.toFixed(4)} ± ${is.std.toFixed(4)} (${splits} splits, ${count} images)`,
      );
    }
  } finally {
    inception?.dispose();
  }
  return 0;
}

/** Takes the part files that follow `--merge-stats OUT` out of the arguments. */
function _mergeParts(all: string[]): { args: string[]; parts: string[] } {
  const at = all.findIndex((a) => a === "--merge-stats" || a.startsWith("--merge-stats="));
  if (at < 0) return { args: all, parts: [] };
  const first = all[at].includes("=") ? at + 1 : at + 2;
  let end = first;
  while (end < all.length && !all[end].startsWith("-")) end++;
  return { args: [...all.slice(0, first), ...all.slice(end)], parts: all.slice(first, end) };
}

/** Pools the parts into `out` and returns `out`. */
async function _mergeStats(out: string, parts: string[]): Promise<string> {
  if (!/\.npz$/i.test(out) || parts.length === 0) {
    throw new CliError(
      "--merge-stats needs the output .npz and then the parts: " +
        "--merge-stats all.npz part0.npz part1.npz ...",
    );
  }
  const loaded: CountedStats[] = [];
  for (const path of parts) {
    const stats = await loadActivationStats(path);
    if (stats.n === undefined) {
      throw new CliError(
        `${path} has no image count n: make each part with deno task fid --samples DIR ` +
          "--save-stats PART.npz, which records it",
      );
    }
    loaded.push(stats as CountedStats);
  }
  let merged: CountedStats;
  try {
    merged = mergeActivationStats(loaded);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new CliError(err.message, 2, { cause: err });
  }
  await saveActivationStats(out, merged);
  console.error(`ddpm: merged ${parts.length} parts, ${merged.n} images, into ${out}`);
  return out;
}

if (import.meta.main) runCli(() => main(Deno.args));
