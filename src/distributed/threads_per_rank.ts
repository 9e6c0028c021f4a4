/**
 * Threads of each rank, so that the ranks on one machine share its cores instead of each
 * starting one thread per core.
 *
 * @module
 */
import type { EnvReader, LaunchInfo } from "./launcher.ts";

/**
 * The threads a rank should run: Slurm's `SLURM_CPUS_PER_TASK` when set, else the machine's
 * cores divided by the job's ranks on this machine (at least 1).
 *
 * @param info The launch, from {@linkcode detectLauncher}.
 * @param opts `cores` (default `navigator.hardwareConcurrency`) and `env` (default `Deno.env.get`).
 * @returns Threads for this rank.
 *
 * @example
 * ```ts
 * import { threadsPerRank } from "./threads_per_rank.ts";
 * const info = { launcher: "openmpi" as const, rank: 0, size: 8, localSize: 4 };
 * if (threadsPerRank(info, { cores: 16, env: () => undefined }) !== 4) throw new Error();
 * ```
 */
export function threadsPerRank(
  info: LaunchInfo,
  opts: { cores?: number; env?: EnvReader } = {},
): number {
  const env = opts.env ?? ((name: string) => Deno.env.get(name));
  const perTask = Number(env("SLURM_CPUS_PER_TASK"));
  if (Number.isInteger(perTask) && perTask >= 1) return perTask;
  const cores = opts.cores ?? navigator.hardwareConcurrency ?? 1;
  // Without a count of this machine's ranks, assume all of them share it (mpirun -np N here).
  const local = info.localSize ?? info.size;
  return Math.max(1, Math.floor(cores / local));
}

/**
 * Sets `OMP_NUM_THREADS` (oneDNN's OpenMP) and `DDPM_WASM_THREADS` (threaded wasm) to
 * {@linkcode threadsPerRank} where the user has not set them; call it before `setBackend`.
 *
 * @param info The launch.
 * @returns The threads now in effect for this rank (the user's `OMP_NUM_THREADS` if set).
 *
 * @example
 * ```ts ignore
 * import { detectLauncher } from "./launcher.ts";
 * import { applyThreadsPerRank } from "./threads_per_rank.ts";
 * const info = detectLauncher();
 * if (info) applyThreadsPerRank(info);
 * ```
 */
export function applyThreadsPerRank(info: LaunchInfo): number {
  const threads = threadsPerRank(info);
  for (const name of ["OMP_NUM_THREADS", "DDPM_WASM_THREADS"]) {
    if (Deno.env.get(name) === undefined) Deno.env.set(name, String(threads));
  }
  return Number(Deno.env.get("OMP_NUM_THREADS"));
}
