/**
 * Loading oneDNN 2.x (`libdnnl.so.2`, Debian's `libdnnl2`) through Deno's FFI: the symbols
 * this backend calls, the enum values and struct sizes of the 2.x C ABI, and one engine and
 * stream shared by every primitive.
 *
 * @module
 */
import { InputError } from "../../errors.ts";
import { lowerV8WorkerPriority } from "./_background_priority.ts";

/** The C functions used, with Deno FFI signatures. Every `dnnl_status_t` is an i32. */
const SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_get_size: { parameters: ["buffer"], result: "usize" },
  dnnl_memory_desc_equal: { parameters: ["buffer", "buffer"], result: "i32" },
  dnnl_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_convolution_backward_data_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_matmul_desc_init: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_eltwise_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_eltwise_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_binary_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_softmax_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "i32"],
    result: "i32",
  },
  dnnl_softmax_backward_desc_init: {
    parameters: ["buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  dnnl_reduction_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_primitive_attr_create: { parameters: ["buffer"], result: "i32" },
  dnnl_primitive_attr_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_attr_set_post_ops: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_post_ops_create: { parameters: ["buffer"], result: "i32" },
  dnnl_post_ops_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_post_ops_append_eltwise: {
    parameters: ["pointer", "f32", "i32", "f32", "f32"],
    result: "i32",
  },
  dnnl_post_ops_append_binary: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_desc_query: {
    parameters: ["pointer", "i32", "i32", "buffer"],
    result: "i32",
  },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_execute: {
    parameters: ["pointer", "pointer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
} as const;

/** The opened library's functions. */
export type DnnlSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Enum values and sizes of the oneDNN 2.x C ABI (`dnnl_types.h`), checked against 2.6.3. */
export const DNNL = {
  // Sizes in bytes of the structs this backend fills in.
  MEMORY_DESC_BYTES: 696,
  OP_DESC_BYTES: 5976, // the largest op descriptor used (convolution); others fit inside
  EXEC_ARG_BYTES: 16,
  MAX_DIMS: 12,
  // dnnl_data_type_t
  BF16: 2,
  F32: 3,
  // dnnl_format_tag_t
  TAG_ANY: 1,
  TAG_A: 2,
  TAG_AB: 3,
  TAG_ABC: 4,
  TAG_ABCD: 5,
  TAG_NHWC: 20, // acdb
  TAG_HWIO: 30, // cdba
  // dnnl_prop_kind_t
  FORWARD_TRAINING: 64,
  FORWARD_INFERENCE: 96,
  BACKWARD: 128,
  BACKWARD_DATA: 160,
  BACKWARD_WEIGHTS: 192,
  // dnnl_alg_kind_t
  CONVOLUTION_DIRECT: 0x1,
  ELTWISE_RELU: 0x1f,
  ELTWISE_TANH: 0x2f,
  ELTWISE_SQUARE: 0x4f,
  ELTWISE_LINEAR: 0x7f,
  ELTWISE_LOGISTIC: 0xaf,
  ELTWISE_EXP: 0xbf,
  ELTWISE_SWISH: 0xdf,
  BINARY_ADD: 0x1fff0,
  BINARY_MUL: 0x1fff1,
  BINARY_MAX: 0x1fff2,
  BINARY_MIN: 0x1fff3,
  BINARY_DIV: 0x1fff4,
  BINARY_SUB: 0x1fff5,
  REDUCTION_SUM: 196596,
  REDUCTION_MEAN: 196598,
  // dnnl_query_t
  QUERY_IMPL_INFO_STR: 8,
  QUERY_SRC_MD: 129,
  QUERY_DIFF_SRC_MD: 130,
  QUERY_WEIGHTS_MD: 131,
  QUERY_DIFF_WEIGHTS_MD: 132,
  QUERY_DST_MD: 133,
  QUERY_DIFF_DST_MD: 134,
  QUERY_WORKSPACE_MD: 135,
  // DNNL_ARG_*
  ARG_SRC: 1,
  ARG_SRC_1: 2,
  ARG_DST: 17,
  ARG_WEIGHTS: 33,
  ARG_BIAS: 41,
  ARG_WORKSPACE: 64,
  ARG_DIFF_SRC: 129,
  ARG_DIFF_DST: 145,
  ARG_DIFF_WEIGHTS: 161,
  ARG_DIFF_BIAS: 169,
  ARG_FROM: 1,
  ARG_TO: 17,
  ARG_POST_OP_BASE: 16384, // DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE
  // dnnl_engine_kind_t, stream flags
  ENGINE_CPU: 1,
  STREAM_DEFAULT: 1,
} as const;

/** The library's file name: the 2.x soname, since 3.x (`libdnnl.so.3`) changed the ABI. */
export const LIBDNNL = "libdnnl.so.2";

/** OpenMP's thread controls, from the libgomp that Debian's libdnnl2 is built against. */
const OMP_SYMBOLS = {
  omp_set_num_threads: { parameters: ["i32"], result: "void" },
  omp_get_max_threads: { parameters: [], result: "i32" },
} as const;

/** An opened oneDNN with its CPU engine and stream. */
export interface DnnlRuntime {
  /** The C functions. */
  fn: DnnlSymbols;
  /** The CPU engine every primitive is created on. */
  engine: Deno.PointerObject;
  /** The stream every primitive executes on. */
  stream: Deno.PointerObject;
  /** "major.minor.patch". */
  version: string;
  /** Threads a large primitive runs on: OpenMP's maximum (`OMP_NUM_THREADS`, else all cores). */
  maxThreads: number;
  /**
   * Sets the OpenMP threads of the next primitives. Small ones run faster on one thread: a
   * fork/join costs ~50 us, and far more when another process holds a core.
   */
  setThreads(n: number): void;
  /** Closes the library. */
  close(): void;
}

/** Thrown when oneDNN cannot be loaded; the message says why and what to install. */
export class OneDnnUnavailableError extends InputError {
  /**
   * Makes the error.
   *
   * @param message Why oneDNN could not be loaded, and the fix.
   */
  constructor(message: string) {
    super(message);
    this.name = "OneDnnUnavailableError";
  }
}

let runtime: DnnlRuntime | undefined;

/**
 * Opens `libdnnl.so.2` once and creates the CPU engine and stream.
 *
 * @returns The shared runtime.
 * @throws {OneDnnUnavailableError} when FFI is not allowed, the library is missing, or its
 *   version is not 2.x.
 */
export function openOneDnn(): DnnlRuntime {
  if (runtime) return runtime;
  const path = libraryPath();
  if (!ffiGranted()) {
    // Asked, FFI would prompt in a terminal; "auto" must fall back quietly instead. A grant
    // scoped to the library's path is not enough: Deno checks the pointer operations the
    // backend needs (UnsafePointer, UnsafePointerView) against the unscoped FFI permission.
    throw new OneDnnUnavailableError("the onednn backend needs FFI: run deno with --allow-ffi");
  }
  preferSleepingOpenMpThreads();
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw new OneDnnUnavailableError(
        "the onednn backend needs FFI: run deno with --allow-ffi",
      );
    }
    throw new OneDnnUnavailableError(
      `${path} could not be loaded (${firstLine(err)}): install it with ` +
        "`apt-get install libdnnl2`",
    );
  }
  const fn = lib.symbols;
  const version = readVersion(fn);
  if (!version.startsWith("2.")) {
    lib.close();
    throw new OneDnnUnavailableError(
      `${LIBDNNL} reports version ${version}; the onednn backend needs oneDNN 2.x ` +
        "(Debian's libdnnl2)",
    );
  }
  const out = new BigUint64Array(1);
  check(fn.dnnl_engine_create(out, DNNL.ENGINE_CPU, 0n), "dnnl_engine_create");
  const engine = Deno.UnsafePointer.create(out[0])!;
  check(fn.dnnl_stream_create(out, engine, DNNL.STREAM_DEFAULT), "dnnl_stream_create");
  const stream = Deno.UnsafePointer.create(out[0])!;
  const { setThreads, maxThreads } = openMpThreads();
  lowerV8WorkerPriority();
  runtime = { fn, engine, stream, version, maxThreads, setThreads, close: () => lib.close() };
  return runtime;
}

function openMpThreads(): { setThreads(n: number): void; maxThreads: number } {
  let omp: Deno.DynamicLibrary<typeof OMP_SYMBOLS>;
  try {
    omp = Deno.dlopen("libgomp.so.1", OMP_SYMBOLS);
  } catch {
    // A oneDNN built on another threading runtime: leave its threads alone.
    return { setThreads: () => {}, maxThreads: 1 };
  }
  const maxThreads = omp.symbols.omp_get_max_threads();
  let current = maxThreads;
  return {
    maxThreads,
    setThreads(n: number) {
      const want = Math.max(1, Math.min(n, maxThreads));
      if (want !== current) {
        omp.symbols.omp_set_num_threads(want);
        current = want;
      }
    },
  };
}

/**
 * Asks OpenMP (libgomp reads this when oneDNN loads it) to put its threads to sleep at the end
 * of each primitive, unless the user chose a policy (`OMP_WAIT_POLICY`, `GOMP_SPINCOUNT`). By
 * default they spin for a while first, holding the other cores just when the JavaScript
 * kernels between two primitives, their helper threads and V8's own threads want them. A bf16
 * cifar10 training step took 1.06-1.30 s with sleeping threads and 1.18-1.69 s with spinning
 * ones (bench/helper_threads_step.ts, alternate processes: 6 of 7 pairs faster), its forward
 * pass 457-473 ms against 484-500; the tiny preset's did not change beyond the noise.
 */
function preferSleepingOpenMpThreads(): void {
  try {
    if (
      Deno.env.get("OMP_WAIT_POLICY") === undefined && Deno.env.get("GOMP_SPINCOUNT") === undefined
    ) {
      Deno.env.set("OMP_WAIT_POLICY", "PASSIVE");
    }
  } catch {
    // No --allow-env: OpenMP keeps its default.
  }
}

/** Whether FFI is granted unscoped, without prompting for it. */
function ffiGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** `DDPM_ONEDNN_LIB` names another copy of the library (or, in tests, a missing one). */
function libraryPath(): string {
  try {
    return Deno.env.get("DDPM_ONEDNN_LIB") || LIBDNNL;
  } catch {
    return LIBDNNL; // no --allow-env: the default
  }
}

function readVersion(fn: DnnlSymbols): string {
  const p = fn.dnnl_version();
  if (!p) return "unknown";
  const view = new Deno.UnsafePointerView(p);
  return `${view.getInt32(0)}.${view.getInt32(4)}.${view.getInt32(8)}`;
}

/** oneDNN's status names, for error messages. */
const STATUS = [
  "success",
  "out_of_memory",
  "invalid_arguments",
  "unimplemented",
  "iterator_ends",
  "runtime_error",
  "not_required",
];

/**
 * Throws when a oneDNN call did not return `dnnl_success`.
 *
 * @param status The returned status.
 * @param what The call, for the message.
 */
export function check(status: number, what: string): void {
  if (status !== 0) {
    const name = STATUS[status] ?? `status ${status}`;
    if (status === 1) {
      throw new RangeError(`oneDNN ran out of memory in ${what}: use a smaller batch`);
    }
    throw new Error(`oneDNN ${what} failed: ${name}`);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0].slice(0, 200);
}
