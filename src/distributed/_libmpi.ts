// libmpi through Deno FFI, no compiled glue. Open MPI's plugins resolve symbols of libmpi
// itself, so the library is first opened by libc's dlopen with RTLD_GLOBAL; Deno.dlopen then
// finds the same, already global, copy. Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM)
// are addresses of exported structs; MPICH's are plain 32-bit integers from its mpi.h.

/** The MPI implementation behind the handles. */
export type _MpiFlavor = "openmpi" | "mpich";

/** A handle as the C ABI of the loaded library passes it: a pointer or an int. */
export type _Handle = Deno.PointerValue | number;

/** The calls and handles the collective uses. */
export interface _LibMpi {
  flavor: _MpiFlavor;
  path: string;
  comm: _Handle;
  float: _Handle;
  double: _Handle;
  byte: _Handle;
  sum: _Handle;
  max: _Handle;
  // deno-lint-ignore no-explicit-any
  fn: any;
}

const RTLD_NOW_GLOBAL = 0x102;
const CANDIDATES = ["libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so"];

// MPICH's mpi.h (stable across 3.x and 4.x; Intel MPI and MVAPICH share it).
const MPICH = {
  comm: 0x44000000,
  float: 0x4c00040a,
  double: 0x4c00080b,
  byte: 0x4c00010d,
  sum: 0x58000003,
  max: 0x58000001,
};

function cString(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

/** Opens libmpi (`DDPM_MPI_LIB`, else the usual sonames) and resolves its handles. */
export function _openLibMpi(): _LibMpi {
  const libc = Deno.dlopen("libc.so.6", {
    dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
    dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  });
  try {
    const override = Deno.env.get("DDPM_MPI_LIB");
    const tried = override ? [override] : CANDIDATES;
    let path = "";
    let handle: Deno.PointerValue = null;
    for (const name of tried) {
      handle = libc.symbols.dlopen(cString(name), RTLD_NOW_GLOBAL);
      if (handle) {
        path = name;
        break;
      }
    }
    if (!handle) {
      throw new Error(
        `Cannot load MPI: none of ${tried.join(", ")} opens. Install Open MPI ` +
          "(Debian: apt-get install openmpi-bin) or set DDPM_MPI_LIB to your libmpi.so",
      );
    }
    const sym = (name: string) => libc.symbols.dlsym(handle, cString(name));
    const openmpi = sym("ompi_mpi_comm_world") !== null;
    const h = "pointer" as const;
    const H = openmpi ? h : "i32" as const;
    const fn = Deno.dlopen(path, {
      MPI_Initialized: { parameters: ["buffer"], result: "i32" },
      MPI_Init_thread: { parameters: [h, h, "i32", "buffer"], result: "i32" },
      MPI_Comm_rank: { parameters: [H, "buffer"], result: "i32" },
      MPI_Comm_size: { parameters: [H, "buffer"], result: "i32" },
      MPI_Allreduce: { parameters: ["buffer", "buffer", "i32", H, H, H], result: "i32" },
      MPI_Bcast: { parameters: ["buffer", "i32", H, "i32", H], result: "i32" },
      MPI_Barrier: { parameters: [H], result: "i32" },
      MPI_Abort: { parameters: [H, "i32"], result: "i32" },
      MPI_Finalize: { parameters: [], result: "i32" },
    }).symbols;
    if (!openmpi) {
      if (sym("MPIR_Init_thread") === null && sym("MPID_Init") === null) {
        throw new Error(
          `Cannot use ${path}: it is neither Open MPI (no ompi_mpi_comm_world) nor MPICH; ` +
            "use Open MPI 4 or 5, or MPICH 3/4 (set DDPM_MPI_LIB)",
        );
      }
      return { flavor: "mpich", path, ...MPICH, fn };
    }
    const need = (name: string) => {
      const p = sym(name);
      if (p === null) throw new Error(`Cannot use ${path}: it has no ${name}`);
      return p;
    };
    return {
      flavor: "openmpi",
      path,
      comm: need("ompi_mpi_comm_world"),
      float: need("ompi_mpi_float"),
      double: need("ompi_mpi_double"),
      byte: need("ompi_mpi_byte"),
      sum: need("ompi_mpi_op_sum"),
      max: need("ompi_mpi_op_max"),
      fn,
    };
  } finally {
    // The library stays loaded: dlopen's reference is never released.
    libc.close();
  }
}
