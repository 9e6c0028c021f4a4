// Checking a checkpoint against a run's config.json from the file's header alone, before any
// model is built: a config edited to a far larger UNet must not cost gigabytes of random
// weights only to learn that the 17 MB checkpoint cannot fill them, and a truncated file or a
// lying step must be refused before a resume changes anything in the run folder.
import type { UNetConfig } from "../nn/unet_config.ts";
import { unetWeightSpecs } from "../nn/unet_weight_specs.ts";
import { CheckpointError } from "./checkpoint.ts";
import { _checkpointStep } from "./_checkpoint_step.ts";

// The safetensors reference refuses larger headers; a longer length is corruption.
const MAX_HEADER_BYTES = 100_000_000;
const GROUPS = ["model", "ema", "adam_m", "adam_v"];

/** The header of a checkpoint: its metadata and each tensor's shape. */
export interface _CheckpointHeader {
  metadata: Record<string, string>;
  shapes: Map<string, number[]>;
}

/**
 * Reads and checks the header of a checkpoint file without reading its tensors: the lengths
 * and offsets must lie inside the file (a truncated file fails here), and the metadata must
 * hold a valid step.
 */
export async function _readCheckpointHeader(path: string): Promise<_CheckpointHeader> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`Checkpoint not found: ${path}`, { cause: err });
    }
    throw err;
  }
  try {
    const size = (await file.stat()).size;
    const damaged = (why: string) =>
      new CheckpointError(
        `Cannot read checkpoint ${path}: ${why}. The file is damaged; use an earlier ` +
          "checkpoint of the run.",
      );
    const lenBytes = await readExactly(file, 8);
    if (!lenBytes) throw damaged(`it is ${size} bytes, shorter than its 8-byte header length`);
    const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
    if (headerLen > size - 8 || headerLen > MAX_HEADER_BYTES) {
      throw damaged(`the header length ${headerLen} exceeds the ${size - 8} bytes after it`);
    }
    const headerBytes = await readExactly(file, headerLen);
    if (!headerBytes) throw damaged("the file ends inside its header");
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
    } catch {
      throw damaged("the header is not valid UTF-8 JSON");
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw damaged("the header is not a JSON object");
    }
    const dataLen = size - 8 - headerLen;
    const metadata: Record<string, string> = {};
    const shapes = new Map<string, number[]>();
    for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
      if (name === "__metadata__") {
        for (const [k, v] of Object.entries(info ?? {})) metadata[k] = String(v);
        continue;
      }
      const e = info as { shape?: unknown; data_offsets?: unknown } | null;
      const shape = e?.shape, off = e?.data_offsets;
      if (!isSizes(shape) || !isSizes(off) || off.length !== 2 || off[0] > off[1]) {
        throw damaged(`tensor ${name} has no valid shape and offsets`);
      }
      if (off[1] > dataLen) {
        throw damaged(
          `tensor ${name} ends at byte ${off[1]} of data, but the file holds ${dataLen}`,
        );
      }
      shapes.set(name, shape);
    }
    if (metadata.format !== "ddpm-checkpoint-v1") {
      throw new CheckpointError(
        `${path} is not a ddpm training checkpoint (format "${metadata.format ?? "none"}"). ` +
          "For a diffusers model folder use --pretrained.",
      );
    }
    try {
      _checkpointStep(metadata.step, path);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new CheckpointError(err.message, { cause: err });
    }
    return { metadata, shapes };
  } finally {
    file.close();
  }
}

/**
 * Checks from its header that a checkpoint holds exactly the weights of the UNet `config`
 * describes, in every group it has (weights, EMA, Adam's moments), and returns its step.
 *
 * @throws {CheckpointError} naming both parameter counts and the first weight that differs.
 */
export async function _checkCheckpointFits(
  path: string,
  config: UNetConfig,
  configPath: string,
): Promise<number> {
  const { metadata, shapes } = await _readCheckpointHeader(path);
  const specs = unetWeightSpecs(config);
  const wanted = specs.reduce((s, w) => s + size(w.shape), 0);
  let held = 0;
  for (const [name, shape] of shapes) if (name.startsWith("model/")) held += size(shape);
  for (const group of GROUPS) {
    if (group !== "model" && ![...shapes.keys()].some((k) => k.startsWith(`${group}/`))) continue;
    const names = new Set(specs.map((w) => `${group}/${w.name}`));
    let diff: string | undefined;
    for (const w of specs) {
      const got = shapes.get(`${group}/${w.name}`);
      if (!got || got.join() !== w.shape.join()) {
        diff = `${group}/${w.name} is ${got ? `[${got}]` : "missing"}, expected [${w.shape}]`;
        break;
      }
    }
    const extra = [...shapes.keys()].find((k) => k.startsWith(`${group}/`) && !names.has(k));
    diff ??= extra && `${extra} is not a weight of this model`;
    if (diff) {
      throw new CheckpointError(
        `${path} does not fit ${configPath}: the config describes a UNet of ${wanted} ` +
          `parameters, the checkpoint holds ${held} (${diff}). Restore config.json as the run ` +
          "wrote it, or use the checkpoint of a run with this model.",
      );
    }
  }
  return Number(metadata.step);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isSizes(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
}

async function readExactly(file: Deno.FsFile, n: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(out.subarray(got));
    if (r === null) return undefined;
    got += r;
  }
  return out;
}
