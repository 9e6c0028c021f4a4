/**
 * Many processes: data-parallel training on MPI (Open MPI or MPICH through FFI), the launcher
 * read from the environment (`mpirun`, `mpiexec`, `srun`), threads per rank, and the shard of
 * `--shard auto`. Pass `openMpiCollective()` as `collective` to `train` under `mpirun`.
 *
 * @example Where this process sits in a job (undefined when started alone)
 * ```ts
 * import { detectLauncher } from "@x/ddpm/distributed";
 * const env: Record<string, string> = { OMPI_COMM_WORLD_RANK: "0", OMPI_COMM_WORLD_SIZE: "2" };
 * if (detectLauncher((k) => env[k])?.size !== 2) throw new Error();
 * ```
 *
 * @module
 */
export * from "./launcher.ts";
export * from "./threads_per_rank.ts";
export * from "./auto_shard.ts";
export * from "./mpi_collective.ts";
