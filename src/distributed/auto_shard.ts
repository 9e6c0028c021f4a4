/**
 * `--shard auto`: which of N shards this process draws, from the scheduler that started it.
 *
 * @module
 */
import { detectLauncher, type EnvReader } from "./launcher.ts";

/** Shard K of N, and the variables it came from. */
export interface AutoShard {
  /** K, from 0. */
  index: number;
  /** N. */
  count: number;
  /** Where K and N came from, for the log line. */
  source: string;
}

const int = (v: string | undefined) =>
  v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : undefined;

/**
 * Finds this process's shard: a Slurm job array task (`SLURM_ARRAY_TASK_ID` counted from
 * `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP`, of `SLURM_ARRAY_TASK_COUNT`), a
 * Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` (whose count, the Job's `completions`, only
 * the caller knows: `count`), or the rank of an MPI job. `count`, when given, overrides the
 * count found.
 *
 * @param opts `count` (`--shard-count`) and `env` (default `Deno.env.get`).
 * @returns The shard.
 * @throws {RangeError} When nothing is found, a Kubernetes index comes without a count, or the
 *   index is not below the count; the message names the variables and the fix.
 *
 * @example
 * ```ts
 * import { autoShard } from "./auto_shard.ts";
 * const env: Record<string, string> = { JOB_COMPLETION_INDEX: "3" };
 * const shard = autoShard({ count: 8, env: (k) => env[k] });
 * if (shard.index !== 3 || shard.count !== 8) throw new Error(JSON.stringify(shard));
 * ```
 */
export function autoShard(opts: { count?: number; env?: EnvReader } = {}): AutoShard {
  const env = opts.env ?? ((name: string) => Deno.env.get(name));
  let found: AutoShard | undefined;
  const task = int(env("SLURM_ARRAY_TASK_ID"));
  const k8s = int(env("JOB_COMPLETION_INDEX"));
  if (task !== undefined) {
    const min = int(env("SLURM_ARRAY_TASK_MIN")) ?? 0;
    const step = int(env("SLURM_ARRAY_TASK_STEP")) || 1;
    const count = int(env("SLURM_ARRAY_TASK_COUNT"));
    found = {
      index: Math.floor((task - min) / step),
      count: opts.count ?? count ?? NaN,
      source: "SLURM_ARRAY_TASK_ID",
    };
  } else if (k8s !== undefined) {
    if (opts.count === undefined) {
      throw new RangeError(
        `--shard auto found JOB_COMPLETION_INDEX=${k8s} (a Kubernetes Indexed Job) but not the ` +
          "number of shards: pass --shard-count with the Job's completions",
      );
    }
    found = { index: k8s, count: opts.count, source: "JOB_COMPLETION_INDEX" };
  } else {
    const launch = detectLauncher(env);
    if (launch) {
      found = {
        index: launch.rank,
        count: opts.count ?? launch.size,
        source: `the ${launch.launcher} rank`,
      };
    }
  }
  if (!found) {
    throw new RangeError(
      "--shard auto found no SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or MPI rank in the " +
        "environment: run under a job array, an Indexed Job or mpirun, or give --shard K/N",
    );
  }
  if (!(found.count >= 1) || !(found.index >= 0 && found.index < found.count)) {
    throw new RangeError(
      `--shard auto: ${found.source} gives shard ${found.index} of ${found.count}; the index ` +
        "must be below the count (check --shard-count)",
    );
  }
  return found;
}
