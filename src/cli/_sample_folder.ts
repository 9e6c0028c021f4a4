// `deno task sample --out-dir DIR [--shard K/N]`: one PNG per image, named by its global
// index, where image i depends only on (seed, i). Any split into shards, any batch size and
// any restart write the same bytes; files already there are skipped.
import type * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { type NoisePredictor, type ReverseScheduler, sample } from "../diffusion/sample.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { tensorToImages } from "../images/png.ts";
import { CliError } from "./_cli.ts";
import { Progress } from "./_progress.ts";
import { assertFiniteImages } from "./_finite_images.ts";
import { _sweepTempFilesIn } from "../runs/_sweep_temp_files.ts";

/** A shard: index K of N. */
export interface Shard {
  /** K, from 0. */
  index: number;
  /** N. */
  count: number;
}

/** Parses `K/N` with 0 <= K < N. */
export function parseShard(value: string | undefined): Shard {
  if (value === undefined) return { index: 0, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    throw new CliError(`--shard must be K/N with 0 <= K < N, such as 0/4: got "${value}"`);
  }
  return { index, count };
}

/** The global indices shard K of N owns: a contiguous range [floor(K n / N), floor((K+1) n / N)). */
export function shardRange(n: number, shard: Shard): [number, number] {
  return [
    Math.floor((shard.index * n) / shard.count),
    Math.floor(((shard.index + 1) * n) / shard.count),
  ];
}

/** The file name of image i: its index zero-padded to at least 6 digits. */
export function imageFileName(i: number, n: number): string {
  return `${String(i).padStart(Math.max(6, String(n - 1).length), "0")}.png`;
}

/** What the images of a folder were drawn with; every shard and restart must agree. */
export type SamplingSettings = Record<string, string | number>;

const MANIFEST = "sampling.json";

/** Options of {@linkcode sampleToFolder}. */
export interface SampleFolderOptions {
  unet: NoisePredictor;
  scheduler: ReverseScheduler;
  numInferenceSteps: number;
  eta: number;
  seed: number;
  /** Total images over all shards. */
  n: number;
  shard: Shard;
  outDir: string;
  /** Images per call to `sample()` (and per forward pass). */
  batch: number;
  /** Written to `sampling.json` by the first process; later ones must match. */
  settings: SamplingSettings;
  /** Called once the missing images are known, with their number. */
  onStart?: (missing: number) => void;
  /** Called after each batch with the images written so far. */
  onBatch?: (done: number) => void;
}

/**
 * Draws the images of one shard that are not in the folder yet and writes each as a PNG
 * (through a temporary file and a rename, so a crash leaves no partial file).
 */
export async function sampleToFolder(
  opts: SampleFolderOptions,
): Promise<{ written: number; skipped: number }> {
  const { n, shard, outDir, batch } = opts;
  await Deno.mkdir(outDir, { recursive: true });
  // What kill -9 left mid-write; a minute old at least, as the folder may be shared by shards
  // on other machines, whose process ids mean nothing here.
  await _sweepTempFilesIn([outDir], { minAgeMs: 60_000 });
  // The names' width follows n, so one folder holds one n: with another, 000000.png and
  // 0000000.png would be the same image twice.
  const digits = imageFileName(0, n).length - ".png".length;
  await checkManifest(outDir, { ...opts.settings, n, digits });
  const [start, end] = shardRange(n, shard);
  const present = new Set<string>();
  for await (const e of Deno.readDir(outDir)) if (e.isFile) present.add(e.name);
  const missing: number[] = [];
  for (let i = start; i < end; i++) if (!present.has(imageFileName(i, n))) missing.push(i);
  opts.onStart?.(missing.length);
  let written = 0;
  for (let k = 0; k < missing.length; k += batch) {
    const indices = missing.slice(k, k + batch);
    const images: tf.Tensor4D = await sample({
      unet: opts.unet,
      scheduler: opts.scheduler,
      batchSize: indices.length,
      numInferenceSteps: opts.numInferenceSteps,
      seed: opts.seed,
      eta: opts.eta,
      chunkSize: batch,
      imageIndices: indices,
    });
    let pngs: Uint8Array[];
    try {
      await assertFiniteImages(images, `Images ${indices[0]} .. ${indices.at(-1)}`);
      pngs = await tensorToImages(images);
    } finally {
      images.dispose();
    }
    for (let j = 0; j < indices.length; j++) {
      await _writeFileAtomic(`${outDir}/${imageFileName(indices[j], n)}`, pngs[j]);
    }
    written += indices.length;
    opts.onBatch?.(written);
  }
  return { written, skipped: end - start - missing.length };
}

async function checkManifest(outDir: string, settings: SamplingSettings): Promise<void> {
  const path = `${outDir}/${MANIFEST}`;
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (text === undefined) {
    await _writeFileAtomic(path, JSON.stringify(settings, null, 2) + "\n");
    return;
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    saved = undefined;
  }
  if (typeof saved !== "object" || saved === null || Array.isArray(saved)) {
    throw new CliError(
      `${path} is not a JSON object of sampling settings; delete it if the folder holds no ` +
        "images yet, or use another --out-dir",
    );
  }
  for (const [key, value] of Object.entries(settings)) {
    const was = (saved as SamplingSettings)[key];
    if (was !== value) {
      throw new CliError(
        `${outDir} holds images drawn with ${key} = ${JSON.stringify(was)} (${MANIFEST}), ` +
          `not ${JSON.stringify(value)}: use the same settings for every shard and restart, or ` +
          `another --out-dir`,
      );
    }
  }
}

/** A progress line over the images of a shard, with ETA. */
export function shardProgress(total: number, label: string): Progress {
  // About a hundred lines over a shard when stderr is not a terminal.
  return new Progress(total, { label, unit: "img", every: Math.max(1, Math.round(total / 100)) });
}

/**
 * The first 16 hex digits of the SHA-256 of a model's weights (names, shapes and float32
 * bytes, in name order): the same model gives the same fingerprint wherever it is loaded from.
 */
export async function weightsFingerprint(
  weights: Map<string, tf.Tensor>,
): Promise<string> {
  const hash = createHash("sha256");
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    const data = await t.data();
    hash.update(`${name}:${t.shape.join("x")};`);
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest("hex").slice(0, 16);
}
