/**
 * Which launcher started this process, read from the environment it sets, without loading MPI:
 * Open MPI's `mpirun`, MPICH's Hydra (`mpiexec`), PMIx (`srun --mpi=pmix`, `prterun`) or Slurm's
 * `srun`.
 *
 * @module
 */

/** This process's place in a job, as its launcher describes it. */
export interface LaunchInfo {
  /** The launcher, named by the variables found. */
  launcher: "openmpi" | "mpich" | "pmix" | "slurm";
  /** This process's rank, 0 to `size - 1`. */
  rank: number;
  /** Processes in the job. */
  size: number;
  /** Processes of the job on this machine, when the launcher says (for threads per rank). */
  localSize?: number;
}

/** Reads one environment variable; `Deno.env.get` in a program. */
export type EnvReader = (name: string) => string | undefined;

const count = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value);
};

/**
 * Tasks of a Slurm step on the node numbered `node`, from `SLURM_STEP_TASKS_PER_NODE`'s
 * compressed form: "2(x3),1" means two tasks on each of nodes 0-2, one on node 3.
 *
 * @param spec The variable's value.
 * @param node `SLURM_NODEID`.
 * @returns The count, or undefined when the value does not parse.
 *
 * @example
 * ```ts
 * import { slurmTasksOnNode } from "./launcher.ts";
 * if (slurmTasksOnNode("2(x3),1", 3) !== 1 || slurmTasksOnNode("4", 0) !== 4) throw new Error();
 * ```
 */
export function slurmTasksOnNode(spec: string, node: number): number | undefined {
  let first = 0;
  for (const part of spec.split(",")) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m) return undefined;
    const repeat = m[2] === undefined ? 1 : Number(m[2]);
    if (node < first + repeat) return Number(m[1]);
    first += repeat;
  }
  return undefined;
}

/**
 * Finds the launcher of a parallel job in the environment. A job of one process is no job:
 * without a launcher, or with one rank, this returns undefined and training runs alone.
 *
 * Slurm's variables count only inside an `srun` step (`SLURM_STEP_NUM_TASKS`), not in the
 * batch script itself, which Slurm runs once.
 *
 * @param env Reads a variable (default `Deno.env.get`).
 * @returns The rank and size, or undefined.
 *
 * @example
 * ```ts
 * import { detectLauncher } from "./launcher.ts";
 * const env: Record<string, string> = { OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_SIZE: "4" };
 * const info = detectLauncher((k) => env[k]);
 * if (info?.launcher !== "openmpi" || info.rank !== 1 || info.size !== 4) throw new Error();
 * if (detectLauncher(() => undefined) !== undefined) throw new Error();
 * ```
 */
export function detectLauncher(
  env: EnvReader = (name) => Deno.env.get(name),
): LaunchInfo | undefined {
  const pick = (
    launcher: LaunchInfo["launcher"],
    rank: string | undefined,
    size: string | undefined,
    localSize?: number,
  ): LaunchInfo | undefined => {
    const r = count(rank);
    const n = count(size);
    if (r === undefined || n === undefined || n < 2 || r >= n) return undefined;
    return localSize === undefined
      ? { launcher, rank: r, size: n }
      : { launcher, rank: r, size: n, localSize };
  };
  const slurmLocal = () => {
    const node = count(env("SLURM_NODEID"));
    const spec = env("SLURM_STEP_TASKS_PER_NODE");
    return node === undefined || spec === undefined ? undefined : slurmTasksOnNode(spec, node);
  };
  return pick(
    "openmpi",
    env("OMPI_COMM_WORLD_RANK"),
    env("OMPI_COMM_WORLD_SIZE"),
    count(env("OMPI_COMM_WORLD_LOCAL_SIZE")),
  ) ??
    pick("mpich", env("PMI_RANK"), env("PMI_SIZE"), count(env("MPI_LOCALNRANKS"))) ??
    pick(
      "pmix",
      env("PMIX_RANK"),
      env("SLURM_STEP_NUM_TASKS") ?? env("PMIX_SIZE"),
      slurmLocal(),
    ) ??
    pick("slurm", env("SLURM_PROCID"), env("SLURM_STEP_NUM_TASKS"), slurmLocal());
}
