/**
 * What data-parallel training needs of its transport: the rank, the number of ranks, an
 * element-wise sum and max over every rank, and a broadcast from rank 0. `src/distributed`
 * implements it on MPI; the training loop sees only this interface, so it loads nothing of MPI.
 *
 * @module
 */

/**
 * A group of processes that train one model together, each with the same calls in the same
 * order. Every method returns once every rank has made the matching call.
 *
 * @example A group of one: the sums and the broadcast leave the values as they are
 * ```ts
 * import type { Collective } from "@x/ddpm/train";
 * const single: Collective = {
 *   rank: 0,
 *   size: 1,
 *   allreduceSum: () => {},
 *   allreduceMax: () => {},
 *   broadcast: () => {},
 * };
 * const g = Float32Array.of(1, 2);
 * await single.allreduceSum(g);
 * if (g[1] !== 2) throw new Error();
 * ```
 */
export interface Collective {
  /** This process's index, 0 to `size - 1`; rank 0 alone reads and writes the run folder. */
  readonly rank: number;
  /** Processes in the group. */
  readonly size: number;
  /** Replaces `values` with their element-wise sum over the ranks (MPI_Allreduce, MPI_SUM). */
  allreduceSum(values: Float32Array): void | Promise<void>;
  /** Replaces `values` with their element-wise maximum over the ranks (MPI_MAX). */
  allreduceMax(values: Float64Array): void | Promise<void>;
  /** Replaces `bytes` on every rank with rank 0's (MPI_Bcast); all give the same length. */
  broadcast(bytes: Uint8Array): void | Promise<void>;
}

/** Thrown on every rank when the ranks' weights no longer agree (see `checkInSync`). */
export class RanksDivergedError extends Error {
  /**
   * Makes the error.
   *
   * @param message The step, the checksums, and what to do.
   */
  constructor(message: string) {
    super(message);
    this.name = "RanksDivergedError";
  }
}
