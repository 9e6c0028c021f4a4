/**
 * The {@linkcode Collective} of data-parallel training on MPI (Open MPI 4/5 or MPICH), started
 * by `mpirun`, `srun --mpi=pmix` or Kubernetes' MPI Operator.
 *
 * @module
 */
import type { Collective } from "../train/collective.ts";
import { type _Handle, type _LibMpi, _openLibMpi } from "./_libmpi.ts";

// MPI counts are C ints; larger buffers go in pieces of this many elements.
const CHUNK = 1 << 28;

/** A {@linkcode Collective} on MPI_COMM_WORLD, plus the end of the MPI job. */
export interface MpiCollective extends Collective {
  /** "openmpi" or "mpich", and the library file. */
  readonly library: string;
  /** Waits for every rank, then ends MPI (MPI_Finalize); call it once, before exiting. */
  finalize(): void;
  /** Ends every rank of the job with `code` (MPI_Abort), for errors some ranks cannot see. */
  abort(code: number): never;
}

/**
 * Starts MPI in this process (MPI_Init_thread, single-threaded: only the main thread calls MPI)
 * and returns the world communicator as a {@linkcode Collective}. The calls block the event
 * loop for their duration: training waits on them anyway, and a signal that arrives meanwhile
 * is handled when the call returns.
 *
 * @returns The collective over every rank of the job.
 * @throws {Error} When libmpi cannot be loaded (naming Open MPI and `DDPM_MPI_LIB`) or a call
 *   fails.
 *
 * @example One process without a launcher is a job of one rank (needs libmpi)
 * ```ts ignore
 * import { openMpiCollective } from "./mpi_collective.ts";
 * const mpi = openMpiCollective();
 * const v = Float32Array.of(1.5);
 * mpi.allreduceSum(v);
 * if (mpi.size !== 1 || v[0] !== 1.5) throw new Error();
 * mpi.finalize();
 * ```
 */
export function openMpiCollective(): MpiCollective {
  const lib = _openLibMpi();
  const { fn } = lib;
  const out = new Int32Array(1);
  fn.MPI_Initialized(out);
  if (out[0] === 0) check(lib, "MPI_Init_thread", fn.MPI_Init_thread(null, null, 0, out));
  check(lib, "MPI_Comm_rank", fn.MPI_Comm_rank(lib.comm, out));
  const rank = out[0];
  check(lib, "MPI_Comm_size", fn.MPI_Comm_size(lib.comm, out));
  const size = out[0];
  let scratch32 = new Float32Array(0);
  let scratch64 = new Float64Array(0);

  const reduce = <T extends Float32Array | Float64Array>(
    values: T,
    scratch: T,
    type: _Handle,
    op: _Handle,
  ) => {
    for (let at = 0; at < values.length; at += CHUNK) {
      const n = Math.min(CHUNK, values.length - at);
      const send = values.subarray(at, at + n);
      const recv = scratch.subarray(0, n);
      check(lib, "MPI_Allreduce", fn.MPI_Allreduce(send, recv, n, type, op, lib.comm));
      send.set(recv);
    }
  };
  return {
    rank,
    size,
    library: `${lib.flavor} (${lib.path})`,
    allreduceSum(values: Float32Array) {
      if (scratch32.length < Math.min(values.length, CHUNK)) {
        scratch32 = new Float32Array(Math.min(values.length, CHUNK));
      }
      reduce(values, scratch32, lib.float, lib.sum);
    },
    allreduceMax(values: Float64Array) {
      if (scratch64.length < Math.min(values.length, CHUNK)) {
        scratch64 = new Float64Array(Math.min(values.length, CHUNK));
      }
      reduce(values, scratch64, lib.double, lib.max);
    },
    broadcast(bytes: Uint8Array) {
      for (let at = 0; at < bytes.length; at += CHUNK) {
        const part = bytes.subarray(at, Math.min(bytes.length, at + CHUNK));
        check(lib, "MPI_Bcast", fn.MPI_Bcast(part, part.length, lib.byte, 0, lib.comm));
      }
    },
    finalize() {
      // Every rank waits here, so none exits (and makes mpirun end the job) while rank 0 is
      // still writing its checkpoint; MPI_Finalize alone need not synchronise.
      check(lib, "MPI_Barrier", fn.MPI_Barrier(lib.comm));
      check(lib, "MPI_Finalize", fn.MPI_Finalize());
    },
    abort(code: number): never {
      fn.MPI_Abort(lib.comm, code);
      Deno.exit(code);
    },
  };
}

function check(lib: _LibMpi, call: string, code: number): void {
  // The default error handler aborts the job first; this covers MPI_ERRORS_RETURN setups.
  if (code !== 0) throw new Error(`${call} failed with MPI error ${code} (${lib.path})`);
}
