/**
 * FID and the Inception Score of a set of images, as pytorch-fid and torch-fidelity compute
 * them: one pass of the Inception network over the images, batch by batch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";
import { ActivationStatsAccumulator } from "./activation_stats.ts";
import { type ActivationStats, frechetDistance } from "./frechet_distance.ts";
import type { InceptionV3 } from "./inception.ts";
import { INCEPTION_CLASSES, INCEPTION_POOL_FEATURES } from "./inception_layers.ts";
import {
  type InceptionScore,
  inceptionScoreFromLogits,
  type InceptionScoreOptions,
} from "./inception_score_math.ts";
import { type ImageSource, openImageSource } from "./image_source.ts";
import { loadActivationStats } from "./stats_file.ts";

/** Options of {@linkcode inceptionPass}. */
export interface InceptionPassOptions {
  /** The network. */
  inception: InceptionV3;
  /** Images per forward pass. Default 16. */
  batchSize?: number;
  /** Accumulate pool3 statistics for FID (pytorch-fid's preprocessing). Default true. */
  fid?: boolean;
  /** Keep the logits without bias for the Inception Score (torch-fidelity's). Default false. */
  inceptionScore?: boolean;
  /** Network input side; default 299. Smaller only for tests. */
  size?: number;
  /** Called after each batch with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode inceptionPass} returns. */
export interface InceptionPassResult {
  /** Images read. */
  count: number;
  /** Mean and covariance of pool3 (when `fid`). */
  stats?: ActivationStats;
  /** Logits without bias, `count * 1008`, in the source's order (when `inceptionScore`). */
  logitsUnbiased?: Float32Array;
}

/**
 * Runs the Inception network over every image of a source. FID's features are computed with
 * pytorch-fid's preprocessing and the IS logits with torch-fidelity's, so asking for both runs
 * the network twice per batch, as running the two tools would.
 *
 * @param source A folder of images, a CIFAR-10 batch or folder, or an opened source.
 * @param opts The network and what to compute.
 * @returns The count, the statistics and the logits asked for.
 * @throws {InputError} When the source is missing or empty, or has fewer than 2 images.
 *
 * @example See {@linkcode fid}.
 */
export async function inceptionPass(
  source: string | ImageSource,
  opts: InceptionPassOptions,
): Promise<InceptionPassResult> {
  const { inception, batchSize = 16, fid = true, inceptionScore = false, size } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InputError(`Inception batch size must be an integer >= 1: got ${batchSize}`);
  }
  const images = typeof source === "string" ? await openImageSource(source) : source;
  if (images.count < 2) {
    throw new InputError(`${images.description}: FID and IS need at least 2 images`);
  }
  const acc = fid ? new ActivationStatsAccumulator(INCEPTION_POOL_FEATURES) : undefined;
  const logits = inceptionScore ? new Float32Array(images.count * INCEPTION_CLASSES) : undefined;
  let done = 0;
  for await (const batch of images.batches(batchSize)) {
    const x = tf.tensor4d(
      Float32Array.from(batch.pixels),
      [batch.count, batch.height, batch.width, 3],
    );
    try {
      if (acc) {
        const f = inception.features(x, { preprocess: "pytorch-fid", size });
        try {
          acc.add(await f.pool.data());
        } finally {
          tf.dispose([f.pool, f.logitsUnbiased]);
        }
      }
      if (logits) {
        const f = inception.features(x, { preprocess: "torch-fidelity", size });
        try {
          logits.set(await f.logitsUnbiased.data(), done * INCEPTION_CLASSES);
        } finally {
          tf.dispose([f.pool, f.logitsUnbiased]);
        }
      }
    } finally {
      x.dispose();
    }
    done += batch.count;
    opts.onProgress?.(done, images.count);
  }
  return { count: done, stats: acc?.result(), logitsUnbiased: logits };
}

/** Statistics given directly, a `.npz` file of them, or images to compute them from. */
export type FidInput = ActivationStats | string;

/** Options of {@linkcode fid}. */
export interface FidOptions {
  /** The network; needed unless both inputs are statistics. */
  inception?: InceptionV3;
  /** Images per forward pass. Default 16. */
  batchSize?: number;
  /** Network input side; default 299. Smaller only for tests. */
  size?: number;
  /** Progress over each set of images computed. */
  onProgress?: (done: number, total: number, which: "samples" | "reference") => void;
}

// An input resolved as far as it can be without the network: statistics, or an opened source.
type Prepared = { stats: ActivationStats; source?: undefined } | {
  stats?: undefined;
  source: string;
};

async function prepare(input: FidInput): Promise<Prepared> {
  if (typeof input !== "string") return { stats: input };
  if (/\.npz$/i.test(input)) return { stats: await loadActivationStats(input) };
  return { source: input };
}

async function statsOf(
  input: Prepared,
  which: "samples" | "reference",
  opts: FidOptions,
): Promise<ActivationStats> {
  if (input.stats) return input.stats;
  const { stats } = await inceptionPass(input.source, {
    inception: opts.inception!,
    batchSize: opts.batchSize,
    size: opts.size,
    onProgress: (d, t) => opts.onProgress?.(d, t, which),
  });
  return stats!;
}

/**
 * The Frechet Inception Distance between two sets, as pytorch-fid computes it: pool3 features
 * of each image (resized to 299 with `align_corners=False`, scaled to [-1, 1]), their mean and
 * covariance in float64, and the Frechet distance of the two Gaussians.
 *
 * @param samples Images (folder, CIFAR-10 batch) or their statistics (`.npz` or in memory).
 * @param reference The same for the reference set, such as CIFAR-10's training set.
 * @param opts The network and batch size.
 * @returns FID (lower is better; the paper's CIFAR10 model scores 3.17).
 *
 * @example FID of two statistics needs no network
 * ```ts
 * import { fid } from "./fid.ts";
 * const sigma = new Float64Array([1, 0, 0, 1]);
 * const d = await fid({ mu: new Float64Array([0, 0]), sigma }, { mu: new Float64Array([1, 0]), sigma });
 * if (Math.abs(d - 1) > 1e-12) throw new Error(String(d));
 * ```
 */
export async function fid(
  samples: FidInput,
  reference: FidInput,
  opts: FidOptions = {},
): Promise<number> {
  // Statistics are read and image folders opened before any Inception pass, so that a
  // mismatch is reported before the hour the passes can take.
  const pa = await prepare(samples);
  const pb = await prepare(reference);
  for (const p of [pa, pb]) {
    if (p.source === undefined) continue;
    if (!opts.inception) {
      throw new InputError(
        `FID of images (${_showName(p.source)}) needs the Inception network (--inception)`,
      );
    }
    const { count, description } = await openImageSource(p.source);
    if (count < 2) throw new InputError(`${description}: FID and IS need at least 2 images`);
  }
  const dims = (p: Prepared) => p.stats ? p.stats.mu.length : INCEPTION_POOL_FEATURES;
  if (dims(pa) !== dims(pb)) {
    throw new InputError(
      `The samples' statistics have ${dims(pa)} dimensions and the reference's ${
        dims(pb)
      }: were they computed with the same network?`,
    );
  }
  const a = await statsOf(pa, "samples", opts);
  const b = await statsOf(pb, "reference", opts);
  return frechetDistance(a, b);
}

/**
 * The Inception Score of a set of images, as torch-fidelity computes it: logits without the fc
 * bias of images resized as TensorFlow 1.x did and scaled by (x - 128) / 128, rows shuffled
 * with NumPy's `RandomState(2020)`, 10 splits.
 *
 * @param source A folder of images or a CIFAR-10 batch.
 * @param opts The network, batch size and split options.
 * @returns Mean and standard deviation over the splits (the paper's CIFAR10 model: 9.46).
 *
 * @example See the README's "FID and Inception Score".
 */
export async function inceptionScore(
  source: string | ImageSource,
  opts: { inception: InceptionV3; batchSize?: number; size?: number } & InceptionScoreOptions,
): Promise<InceptionScore> {
  const images = typeof source === "string" ? await openImageSource(source) : source;
  const splits = opts.splits ?? 10;
  // Checked before the pass, which is the expensive part.
  if (images.count < splits) {
    throw new InputError(
      `The Inception Score needs at least ${splits} images: got ${images.count}`,
    );
  }
  const { logitsUnbiased } = await inceptionPass(images, {
    inception: opts.inception,
    batchSize: opts.batchSize,
    size: opts.size,
    fid: false,
    inceptionScore: true,
  });
  return inceptionScoreFromLogits(logitsUnbiased!, INCEPTION_CLASSES, opts);
}
