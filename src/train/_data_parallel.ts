// Data-parallel training over a Collective: each rank's share of the global batch, the gradient
// sum (with the loss and a stop flag in the same bucket), rank 0's run config and state sent to
// every rank, and the check that the ranks still hold the same weights. train() calls these
// through small hooks; without a collective none of this runs.
import * as tf from "@tensorflow/tfjs";
import { InputError } from "../errors.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { type Collective, RanksDivergedError } from "./collective.ts";
import type { RunConfig } from "../runs/run_config.ts";
import { _resolveRunConfig } from "../runs/_run_config.ts";
import type { TrainOptions } from "./train_options.ts";
import type { TrainState } from "./train_state.ts";

/** The images of the global batch one rank computes: `[offset, offset + size)` of `total`. */
export interface _BatchShare {
  offset: number;
  size: number;
  total: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The data-parallel side of one training run. */
export class _DataParallel {
  readonly collective: Collective;
  /** Set by the gradient sum that carried a rank's stop: "SIGTERM" or "SIGINT". */
  stopReason: "SIGTERM" | "SIGINT" | undefined;
  #signal: AbortSignal | undefined;
  #bucket = new Float32Array(0);

  constructor(collective: Collective, signal: AbortSignal | undefined) {
    this.collective = collective;
    this.#signal = signal;
  }

  /** Rank 0 alone reads and writes the run folder and prints progress. */
  get writes(): boolean {
    return this.collective.rank === 0;
  }

  /** This rank's contiguous share of a batch: floor(r B / N) to floor((r + 1) B / N). */
  share(batch: number): _BatchShare {
    const { rank, size } = this.collective;
    if (batch < size) {
      throw new InputError(
        `Cannot train on ${size} ranks with a batch of ${batch}: every rank needs at least one ` +
          `image. Raise --batch-size to ${size} or more, or start fewer ranks.`,
      );
    }
    const start = Math.floor((rank * batch) / size);
    const end = Math.floor(((rank + 1) * batch) / size);
    return { offset: start, size: end - start, total: batch };
  }

  /**
   * Rank 0 runs `make` and every rank returns its JSON result. When it throws on rank 0, the
   * other ranks throw too, with its message, instead of waiting for a broadcast that never comes.
   */
  async fromRank0<T>(what: string, make: () => Promise<T>): Promise<T> {
    const c = this.collective;
    let result: T | undefined;
    let failure: unknown;
    let payload = new Uint8Array(0);
    if (c.rank === 0) {
      try {
        result = await make();
        payload = encoder.encode(JSON.stringify({ ok: result ?? null }));
      } catch (err) {
        failure = err;
        const e = err as Error;
        payload = encoder.encode(JSON.stringify({ error: e.message, input: isInput(e) }));
      }
    }
    const length = new Float64Array([payload.length]);
    await c.broadcast(new Uint8Array(length.buffer));
    if (c.rank !== 0) payload = new Uint8Array(length[0]);
    await c.broadcast(payload);
    if (c.rank === 0) {
      if (failure) throw failure;
      return result as T;
    }
    const message = JSON.parse(decoder.decode(payload));
    if ("error" in message) {
      const text = `rank 0 could not ${what}: ${message.error}`;
      throw message.input ? new InputError(text) : new Error(text);
    }
    return message.ok as T;
  }

  /**
   * Rank 0 resumes from its run folder (or starts at step 0) and every rank gets its step and
   * its weights, EMA and Adam moments, so all start from one state.
   */
  async resume(
    read: () => Promise<{ step: number; checkpoint: string }>,
    state: TrainState,
  ): Promise<{ step: number; checkpoint: string }> {
    const at = await this.fromRank0("resume the run", read);
    await this.shareVariables([state.weights, state.ema, state.adam.m, state.adam.v]);
    return at;
  }

  /** Gives every rank rank 0's values of the variables, map by map, name by name. */
  async shareVariables(maps: Map<string, tf.Variable>[]): Promise<void> {
    for (const map of maps) {
      const vars = [...map.values()];
      const total = vars.reduce((n, v) => n + v.size, 0);
      const flat = new Float32Array(total);
      if (this.collective.rank === 0) {
        let at = 0;
        for (const v of vars) {
          flat.set(await v.data() as Float32Array, at);
          at += v.size;
        }
      }
      await this.collective.broadcast(new Uint8Array(flat.buffer));
      if (this.collective.rank === 0) continue;
      let at = 0;
      for (const v of vars) {
        const part = flat.slice(at, at + v.size);
        tf.tidy(() => v.assign(tf.tensor(part, v.shape, "float32")));
        at += v.size;
      }
    }
  }

  /**
   * Sums the ranks' gradients and losses in one MPI_Allreduce over a flat bucket whose last two
   * elements count the ranks asked to stop and those asked by SIGTERM: every rank learns in the
   * same call whether any rank was asked to stop, so all stop after the same step, and with the
   * same reason ("SIGTERM" when any rank's abort reason was, else "SIGINT"), so all exit with
   * the same code (`stopReason`). Disposes the tensors it is given.
   */
  async sumGradients(
    loss: tf.Scalar,
    grads: Record<string, tf.Tensor>,
  ): Promise<{ loss: tf.Scalar; grads: Record<string, tf.Tensor> }> {
    const signal = this.#signal;
    const names = Object.keys(grads);
    const tensors = names.map((n) => grads[n]);
    const total = tensors.reduce((n, g) => n + g.size, 0) + 3;
    if (this.#bucket.length !== total) this.#bucket = new Float32Array(total);
    const bucket = this.#bucket;
    try {
      const values = await Promise.all(tensors.map((g) => g.data() as Promise<Float32Array>));
      let at = 0;
      for (const v of values) {
        bucket.set(v, at);
        at += v.length;
      }
      bucket[at] = (await loss.data())[0];
      bucket[at + 1] = signal?.aborted ? 1 : 0;
      bucket[at + 2] = signal?.aborted && signal.reason === "SIGTERM" ? 1 : 0;
    } finally {
      tf.dispose([loss, ...tensors]);
    }
    await this.collective.allreduceSum(bucket);
    const summed: Record<string, tf.Tensor> = {};
    let at = 0;
    for (const [i, name] of names.entries()) {
      const g = tensors[i];
      // A copy: a backend may keep the array it is given, and the bucket is reused.
      summed[name] = tf.tensor(bucket.slice(at, at + g.size), g.shape, "float32");
      at += g.size;
    }
    this.stopReason = bucket[at + 2] > 0 ? "SIGTERM" : bucket[at + 1] > 0 ? "SIGINT" : undefined;
    return { loss: tf.scalar(bucket[at]), grads: summed };
  }

  /**
   * Compares a checksum of the weights and the EMA (float32 sums of w and w^2) across ranks:
   * ranks that took the same summed steps from the same state hold the same bits, so any
   * difference means they drifted apart (a rank skipped or repeated work, or computed
   * differently). Costs one read of four numbers and one tiny allreduce.
   */
  async checkInSync(maps: Map<string, tf.Variable>[], step: number): Promise<void> {
    const sums = tf.tidy(() =>
      tf.stack(maps.flatMap((m) => {
        const vars = [...m.values()];
        return [
          tf.addN(vars.map((v) => tf.sum(v))),
          tf.addN(vars.map((v) => tf.sum(tf.square(v)))),
        ];
      }))
    );
    const local = Float64Array.from(await sums.data());
    sums.dispose();
    const both = new Float64Array(local.length * 2);
    for (const [i, x] of local.entries()) {
      both[i] = x;
      both[local.length + i] = -x;
    }
    await this.collective.allreduceMax(both);
    for (let i = 0; i < local.length; i++) {
      const hi = both[i];
      const lo = -both[local.length + i];
      if (hi !== lo && !(Number.isNaN(hi) && Number.isNaN(lo))) {
        throw new RanksDivergedError(
          `Training stopped at step ${step}: the ranks' weights differ (checksum ${i} ranges ` +
            `from ${lo} to ${hi}; this rank has ${local[i]}). Resume from the last checkpoint, ` +
            "whose weights rank 0 sends to every rank; if it recurs, run every rank on the same " +
            "backend and CPU type.",
        );
      }
    }
  }
}

function isInput(err: Error): boolean {
  return err instanceof InputError || err.name === "CheckpointError";
}

/**
 * The run's config on every rank: rank 0 resolves it from the options and the run folder and
 * sends it; `save` writes config.json on rank 0 only, with `"ranks"` set to the ranks training
 * it now (on one process, a run that once had ranks is set back to 1).
 */
export async function _resolveRunConfigOnRanks(
  opts: TrainOptions,
  dp: _DataParallel | undefined,
): Promise<{ run: RunConfig; save: () => Promise<void> }> {
  const ranks = dp?.collective.size ?? 1;
  const withRanks = (resolved: { run: RunConfig; save: () => Promise<void> }) => {
    const { run, save } = resolved;
    if (ranks === 1 && run.ranks === undefined) return resolved;
    const changed = run.ranks !== ranks;
    run.ranks = ranks;
    return {
      run,
      save: async () => {
        await save();
        // save() writes only a new or changed config; a new rank count is a change too.
        if (changed) {
          await _writeFileAtomic(
            `${opts.outDir}/config.json`,
            JSON.stringify(run, null, 2) + "\n",
          );
        }
      },
    };
  };
  if (!dp) return withRanks(await _resolveRunConfig(opts));
  let resolved: { run: RunConfig; save: () => Promise<void> } | undefined;
  const run = await dp.fromRank0("start the run", async () => {
    resolved = withRanks(await _resolveRunConfig(opts));
    return resolved.run;
  });
  return resolved ?? { run, save: () => Promise.resolve() };
}
