/**
 * Training checkpoints: one safetensors file per saved step, holding the weights, their
 * exponential moving average, Adam's moments and the step. Every random draw of training
 * derives from (seed, step), so the step and the run's seed are the whole RNG state.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import { _checkpointStep } from "./_checkpoint_step.ts";
import { _checkFinite } from "./_check_finite.ts";

/** A checkpoint that cannot be read or does not fit the model. */
export class CheckpointError extends InputError {
  /**
   * Makes the error.
   *
   * @param message What is wrong and how to fix it.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

/** What a checkpoint holds, as host arrays. */
export interface CheckpointState {
  /** Optimisation steps taken so far. */
  step: number;
  /** The live weights, keyed by diffusers names. */
  model: Map<string, tf.Tensor>;
  /** Their exponential moving average. */
  ema: Map<string, tf.Tensor>;
  /** Adam's first moments (absent in weights-only files). */
  adamM?: Map<string, tf.Tensor>;
  /** Adam's second moments (absent in weights-only files). */
  adamV?: Map<string, tf.Tensor>;
  /** Free-form string metadata (seed, skipped steps, versions). */
  metadata: Record<string, string>;
}

const FORMAT = "ddpm-checkpoint-v1";
const GROUPS = [["model", "model"], ["ema", "ema"], ["adamM", "adam_m"], [
  "adamV",
  "adam_v",
]] as const;

/**
 * The file name of the checkpoint at a step, sortable by name.
 *
 * @param step The step.
 * @returns e.g. `step-00001500.safetensors`.
 *
 * @example
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { checkpointName } from "@x/ddpm/train";
 * await setBackend("cpu");
 * if (checkpointName(1500) !== "step-00001500.safetensors") throw new Error();
 * ```
 */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}.safetensors`;
}

/**
 * Writes a checkpoint atomically: to a temp file in the same folder, then renamed over the
 * target, so that an interrupted write never damages an existing checkpoint.
 *
 * @param path The checkpoint file to write.
 * @param state What to save.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { setBackend } from "@x/ddpm";
 * import { loadCheckpoint, saveCheckpoint } from "@x/ddpm/train";
 * await setBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * const w = new Map([["conv_in.bias", tf.tensor([1, 2])]]);
 * await saveCheckpoint(`${dir}/a.safetensors`, { step: 3, model: w, ema: w, metadata: {} });
 * const back = await loadCheckpoint(`${dir}/a.safetensors`);
 * if (back.step !== 3) throw new Error();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveCheckpoint(path: string, state: CheckpointState): Promise<void> {
  const tensors = new Map<string, { dtype: string; shape: number[]; data: Float32Array }>();
  for (const [field, prefix] of GROUPS) {
    const group = state[field];
    if (!group) continue;
    for (const [name, t] of group) {
      tensors.set(`${prefix}/${name}`, {
        dtype: "F32",
        shape: t.shape.slice(),
        data: (await t.data()) as Float32Array,
      });
    }
  }
  const metadata = { ...state.metadata, format: FORMAT, step: String(state.step) };
  const bytes = writeSafetensors(tensors, metadata);
  // A failed write (a full disk) removes its temp file, so it cannot keep the disk full.
  await _writeFileAtomic(path, bytes);
}

/**
 * Reads a checkpoint written by {@linkcode saveCheckpoint}.
 *
 * @param path The checkpoint file.
 * @returns The state, as new tensors the caller owns.
 * @throws {CheckpointError} when the file is missing, corrupt, not a ddpm checkpoint, records
 *   no valid step, or holds a non-finite value (naming the tensor).
 *
 * @example
 * ```ts
 * import { CheckpointError, setBackend } from "@x/ddpm";
 * import { loadCheckpoint } from "@x/ddpm/train";
 * await setBackend("cpu");
 * try {
 *   await loadCheckpoint("/no/such/file.safetensors");
 *   throw new Error("should have failed");
 * } catch (err) {
 *   if (!(err instanceof CheckpointError)) throw err;
 * }
 * ```
 */
export async function loadCheckpoint(path: string): Promise<CheckpointState> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`Checkpoint not found: ${path}`);
    }
    throw err;
  }
  let parsed: ReturnType<typeof readSafetensors>;
  try {
    parsed = readSafetensors(bytes);
  } catch (err) {
    throw new CheckpointError(
      `Cannot read checkpoint ${path}: ${(err as Error).message}. The file is damaged; ` +
        "use an earlier checkpoint of the run.",
    );
  }
  const { tensors, metadata } = parsed;
  if (metadata.format !== FORMAT) {
    throw new CheckpointError(
      `${path} is not a ddpm training checkpoint (format "${metadata.format ?? "none"}"). ` +
        "For a diffusers model folder use --pretrained.",
    );
  }
  let step: number;
  try {
    step = _checkpointStep(metadata.step, path);
    _checkFinite(tensors, path);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new CheckpointError(err.message, { cause: err });
  }
  const groups: Record<string, Map<string, tf.Tensor>> = {};
  for (const [key, value] of tensors) {
    const slash = key.indexOf("/");
    const prefix = key.slice(0, slash), name = key.slice(slash + 1);
    (groups[prefix] ??= new Map()).set(name, tf.tensor(value.data, value.shape, "float32"));
  }
  if (!groups.model) throw new CheckpointError(`${path} holds no model weights`);
  return {
    step,
    model: groups.model,
    ema: groups.ema ?? groups.model,
    adamM: groups.adam_m,
    adamV: groups.adam_v,
    metadata,
  };
}

/**
 * Lists the checkpoints of a run folder's `checkpoints/` subfolder, oldest first.
 *
 * @param runDir The run folder.
 * @returns Full paths of the checkpoint files; empty when there are none.
 *
 * @example
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * import { listCheckpoints } from "@x/ddpm/train";
 * await setBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * if ((await listCheckpoints(dir)).length !== 0) throw new Error();
 * await Deno.remove(dir);
 * ```
 */
export async function listCheckpoints(runDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${runDir}/checkpoints`)) {
      if (entry.isFile && /^step-\d+\.safetensors$/.test(entry.name)) names.push(entry.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  return names.sort().map((n) => `${runDir}/checkpoints/${n}`);
}

/** Disposes every tensor of a checkpoint state. */
export function disposeCheckpoint(state: CheckpointState): void {
  const seen = new Set<tf.Tensor>();
  for (const group of [state.model, state.ema, state.adamM, state.adamV]) {
    for (const t of group?.values() ?? []) seen.add(t);
  }
  tf.dispose([...seen]);
}
