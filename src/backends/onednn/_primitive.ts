/**
 * oneDNN memory descriptors and primitives over JavaScript typed arrays: describe, create
 * once per shape, execute many times.
 *
 * @module
 */
import { check, DNNL, type DnnlRuntime } from "./_lib.ts";

/** A `dnnl_memory_desc_t`, 696 bytes owned by JavaScript. */
export type MemoryDesc = Uint8Array;

/** Buffers passed to oneDNN: plain typed arrays, f32 or bf16 (as its 16-bit patterns). */
export type FloatBuffer = Float32Array | Uint16Array;

/**
 * Describes a dense array by logical dims and a format tag (`DNNL.TAG_*`).
 *
 * @param rt The runtime.
 * @param dims Logical dims in oneDNN's order (for convolutions `[n, c, h, w]`).
 * @param tag Physical layout.
 * @param dataType `DNNL.F32` (default) or `DNNL.BF16`.
 * @returns The descriptor.
 */
export function mdByTag(
  rt: DnnlRuntime,
  dims: readonly number[],
  tag: number,
  dataType: number = DNNL.F32,
): MemoryDesc {
  const md = new Uint8Array(DNNL.MEMORY_DESC_BYTES);
  check(
    rt.fn.dnnl_memory_desc_init_by_tag(md, dims.length, dimsBuffer(dims), dataType, tag),
    "dnnl_memory_desc_init_by_tag",
  );
  return md;
}

/**
 * Describes a dense array by logical dims and element strides.
 *
 * @param rt The runtime.
 * @param dims Logical dims.
 * @param strides Element stride of each dim.
 * @param dataType `DNNL.F32` (default) or `DNNL.BF16`.
 * @returns The descriptor.
 */
export function mdByStrides(
  rt: DnnlRuntime,
  dims: readonly number[],
  strides: readonly number[],
  dataType: number = DNNL.F32,
): MemoryDesc {
  const md = new Uint8Array(DNNL.MEMORY_DESC_BYTES);
  check(
    rt.fn.dnnl_memory_desc_init_by_strides(
      md,
      dims.length,
      dimsBuffer(dims),
      dataType,
      dimsBuffer(strides),
    ),
    "dnnl_memory_desc_init_by_strides",
  );
  return md;
}

/**
 * A `dnnl_dims_t` (12 x int64).
 *
 * @param dims Up to 12 values.
 * @returns The C array.
 */
export function dimsBuffer(dims: readonly number[]): BigInt64Array {
  const out = new BigInt64Array(DNNL.MAX_DIMS);
  dims.forEach((d, i) => (out[i] = BigInt(d)));
  return out;
}

/** One argument of a primitive: its `DNNL_ARG_*` id and the layout it expects. */
interface Arg {
  id: number;
  md: MemoryDesc;
  mem: Deno.PointerObject;
  /** Bytes the primitive reads or writes through this argument. */
  bytes: number;
}

/**
 * A created primitive and one memory object per argument, so that executing it only swaps
 * data pointers.
 */
export class Primitive {
  readonly #rt: DnnlRuntime;
  readonly #pd: Deno.PointerObject;
  readonly #prim: Deno.PointerObject;
  readonly #args: Arg[] = [];
  #execArgs = new Uint8Array(0);
  /** The implementation oneDNN chose, e.g. `brg:avx512_core`. */
  readonly impl: string;
  /**
   * OpenMP threads it runs on; default all. Memory-bound and small primitives are faster on
   * one. Fixed at creation: oneDNN's JIT kernels split their work for the thread count
   * current when they are created, and a kernel created under one thread keeps the other
   * core idle however many threads later execute it.
   */
  readonly threads: number;

  /**
   * Creates the primitive descriptor and primitive for an op descriptor.
   *
   * @param rt The runtime.
   * @param opDesc A filled op descriptor (or `null` with `pd` for a reorder).
   * @param opts Attributes, the forward hint of a backward primitive, a ready descriptor
   *   (created under `threads`), and the thread count.
   */
  constructor(
    rt: DnnlRuntime,
    opDesc: Uint8Array | null,
    opts: {
      attr?: Deno.PointerValue;
      hint?: Primitive;
      pd?: Deno.PointerObject;
      threads?: number;
    } = {},
  ) {
    this.#rt = rt;
    this.threads = opts.threads ?? rt.maxThreads;
    rt.setThreads(this.threads);
    const out = new BigUint64Array(1);
    if (opts.pd) {
      this.#pd = opts.pd;
    } else {
      check(
        rt.fn.dnnl_primitive_desc_create(
          out,
          opDesc!,
          opts.attr ?? null,
          rt.engine,
          opts.hint ? opts.hint.#pd : null,
        ),
        "dnnl_primitive_desc_create",
      );
      this.#pd = Deno.UnsafePointer.create(out[0])!;
    }
    this.impl = this.#queryImpl();
    if (this.impl.startsWith("ref")) {
      rt.fn.dnnl_primitive_desc_destroy(this.#pd);
      // A reference kernel is ~100x slower than the JIT ones: the caller falls back.
      throw new UnsupportedByOneDnn(`only a reference implementation (${this.impl})`);
    }
    check(rt.fn.dnnl_primitive_create(out, this.#pd), "dnnl_primitive_create");
    this.#prim = Deno.UnsafePointer.create(out[0])!;
  }

  /**
   * The layout the primitive wants for a queried argument (`DNNL.QUERY_*_MD`).
   *
   * @param query The query.
   * @returns A copy of the descriptor.
   */
  queryMd(query: number): MemoryDesc {
    const p = this.#rt.fn.dnnl_primitive_desc_query_md(this.#pd, query, 0);
    const md = new Uint8Array(DNNL.MEMORY_DESC_BYTES);
    if (p) new Deno.UnsafePointerView(p).copyInto(md);
    return md;
  }

  /**
   * Declares an argument, in the order `execute` will receive its buffers.
   *
   * @param id `DNNL.ARG_*`.
   * @param md Its layout.
   * @returns This primitive.
   */
  arg(id: number, md: MemoryDesc): this {
    const out = new BigUint64Array(1);
    check(
      this.#rt.fn.dnnl_memory_create(out, md, this.#rt.engine, null),
      "dnnl_memory_create",
    );
    const mem = Deno.UnsafePointer.create(out[0])!;
    const bytes = Number(this.#rt.fn.dnnl_memory_desc_get_size(md));
    this.#args.push({ id, md, mem, bytes });
    const exec = new Uint8Array(this.#args.length * DNNL.EXEC_ARG_BYTES);
    const view = new DataView(exec.buffer);
    this.#args.forEach((a, i) => {
      view.setInt32(i * DNNL.EXEC_ARG_BYTES, a.id, true);
      view.setBigUint64(
        i * DNNL.EXEC_ARG_BYTES + 8,
        BigInt(Deno.UnsafePointer.value(a.mem)),
        true,
      );
    });
    this.#execArgs = exec;
    return this;
  }

  /**
   * The number of f32 elements argument `i` spans in the primitive's layout, for allocating
   * its buffer (blocked layouts may pad).
   *
   * @param i The argument's position.
   * @returns Elements.
   */
  elements(i: number): number {
    return Math.ceil(this.#args[i].bytes / 4);
  }

  /**
   * Runs the primitive on one buffer per declared argument, in declaration order.
   *
   * @param buffers The data; each at least as long as the argument's elements.
   */
  execute(buffers: readonly FloatBuffer[]): void {
    const fn = this.#rt.fn;
    for (let i = 0; i < this.#args.length; i++) {
      const b = buffers[i];
      if (b.byteLength < this.#args[i].bytes) {
        throw new RangeError(
          `oneDNN argument ${this.#args[i].id} needs ${this.#args[i].bytes} bytes: got ` +
            b.byteLength,
        );
      }
      check(
        fn.dnnl_memory_set_data_handle(this.#args[i].mem, pointerOf(b)),
        "dnnl_memory_set_data_handle",
      );
    }
    this.#rt.setThreads(this.threads);
    check(
      fn.dnnl_primitive_execute(this.#prim, this.#rt.stream, this.#args.length, this.#execArgs),
      "dnnl_primitive_execute",
    );
    check(fn.dnnl_stream_wait(this.#rt.stream), "dnnl_stream_wait");
  }

  /** Frees the primitive, its descriptor and its memory objects. */
  dispose(): void {
    const fn = this.#rt.fn;
    for (const a of this.#args) fn.dnnl_memory_destroy(a.mem);
    fn.dnnl_primitive_destroy(this.#prim);
    fn.dnnl_primitive_desc_destroy(this.#pd);
  }

  #queryImpl(): string {
    const out = new BigUint64Array(1);
    const status = this.#rt.fn.dnnl_primitive_desc_query(
      this.#pd,
      DNNL.QUERY_IMPL_INFO_STR,
      0,
      out,
    );
    const p = Deno.UnsafePointer.create(out[0]);
    return status === 0 && p ? Deno.UnsafePointerView.getCString(p) : "unknown";
  }
}

/**
 * Below this many floating-point operations a primitive runs on one thread: an OpenMP
 * fork/join costs ~50 us on an idle machine and a whole scheduler slice (~10 ms) when another
 * process holds a core, which small primitives cannot win back.
 */
export const PARALLEL_MIN_FLOPS = 32e6;

/**
 * Threads for a primitive doing `flops` operations: one below {@linkcode PARALLEL_MIN_FLOPS},
 * else all.
 *
 * @param rt The runtime.
 * @param flops The primitive's work.
 * @returns The thread count.
 */
export function threadsFor(rt: DnnlRuntime, flops: number): number {
  return flops < PARALLEL_MIN_FLOPS ? 1 : rt.maxThreads;
}

/**
 * Creates a reorder between two layouts of the same logical array.
 *
 * @param rt The runtime.
 * @param from Source layout.
 * @param to Destination layout (may differ in data type: a conversion).
 * @param threads Threads it runs on; default one.
 * @returns The primitive, arguments `[from, to]` declared.
 */
export function reorder(
  rt: DnnlRuntime,
  from: MemoryDesc,
  to: MemoryDesc,
  threads = 1,
): Primitive {
  // A reorder is a memory-bound copy: one thread does a 2 MB filter in ~0.4 ms, while two
  // threads pay more than that in fork/join; only large ones ask for more.
  rt.setThreads(threads);
  const out = new BigUint64Array(1);
  check(
    rt.fn.dnnl_reorder_primitive_desc_create(out, from, rt.engine, to, rt.engine, null),
    "dnnl_reorder_primitive_desc_create",
  );
  return new Primitive(rt, null, { pd: Deno.UnsafePointer.create(out[0])!, threads })
    .arg(DNNL.ARG_FROM, from)
    .arg(DNNL.ARG_TO, to);
}

/**
 * True when two descriptors describe the same layout.
 *
 * @param rt The runtime.
 * @param a One descriptor.
 * @param b The other.
 * @returns Whether they are equal.
 */
export function sameLayout(rt: DnnlRuntime, a: MemoryDesc, b: MemoryDesc): boolean {
  return rt.fn.dnnl_memory_desc_equal(a, b) !== 0;
}

/** A shape or layout that oneDNN does not handle (or only with a reference kernel). */
export class UnsupportedByOneDnn extends Error {
  /** @param message What is unsupported. */
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedByOneDnn";
  }
}

/**
 * V8 keeps typed arrays of at most 64 bytes inside the JS heap, where the collector may move
 * them; larger ones live in fixed native memory. oneDNN keeps pointers across calls, so small
 * arrays are copied into a pinned scratch buffer first.
 */
const SMALL_BYTES = 64;

/**
 * An f32 array whose storage does not move: `arr` itself when it is large enough, else a copy.
 *
 * @param arr Any float array.
 * @returns An array safe to hand to oneDNN; write results back if it was copied.
 */
export function pinned(arr: Float32Array): Float32Array {
  if (arr.byteLength > SMALL_BYTES) return arr;
  const copy = allocFloats(arr.length);
  copy.set(arr);
  return copy;
}

/**
 * A zeroed f32 array in fixed native memory (never inside the JS heap), of at least
 * `n` elements; the view has exactly `n` elements.
 *
 * @param n Elements.
 * @returns The array.
 */
export function allocFloats(n: number): Float32Array {
  // Padding up to 17 elements keeps even one-element arrays out of the JS heap.
  return new Float32Array(new ArrayBuffer(Math.max(n, 17) * 4), 0, n);
}

/**
 * The address of each buffer that reached oneDNN. `Deno.UnsafePointer.of` costs about 2 us, a
 * primitive call passes 3-5 arrays, and the buffer pool hands the same buffers out step after
 * step; buffers outside V8's heap never move, so their address can be kept for their lifetime.
 */
const baseAddresses = new WeakMap<ArrayBufferLike, Deno.PointerValue>();

function pointerOf(b: FloatBuffer): Deno.PointerValue {
  if (b.byteLength <= SMALL_BYTES && b.buffer.byteLength <= SMALL_BYTES) {
    throw new Error("internal: a small array reached oneDNN without pinned()");
  }
  let base = baseAddresses.get(b.buffer);
  if (base === undefined) {
    base = Deno.UnsafePointer.of(b.buffer as ArrayBuffer);
    baseAddresses.set(b.buffer, base);
  }
  return b.byteOffset === 0 ? base : Deno.UnsafePointer.offset(base!, b.byteOffset);
}

/** An operation fused after a primitive: an elementwise function, or a binary op with a tensor. */
export type PostOp =
  | { kind: "eltwise"; alg: number; alpha?: number }
  | { kind: "binary"; alg: number; md: MemoryDesc };

/**
 * Creates a primitive with post-ops fused after it (e.g. `DNNL.ELTWISE_RELU`); a binary
 * post-op's operand is the execute argument `DNNL.ARG_POST_OP_BASE * (index + 1) | ARG_SRC_1`.
 *
 * @param rt The runtime.
 * @param desc The op descriptor.
 * @param postOps The post-ops, in order.
 * @param threads Threads it runs on (see {@linkcode Primitive.threads}); default all.
 * @returns The primitive.
 */
export function withPostOps(
  rt: DnnlRuntime,
  desc: Uint8Array,
  postOps: PostOp[],
  threads = rt.maxThreads,
): Primitive {
  const fn = rt.fn;
  const out = new BigUint64Array(1);
  check(fn.dnnl_post_ops_create(out), "dnnl_post_ops_create");
  const ops = Deno.UnsafePointer.create(out[0]);
  check(fn.dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create");
  const attr = Deno.UnsafePointer.create(out[0]);
  try {
    for (const op of postOps) {
      if (op.kind === "eltwise") {
        check(
          fn.dnnl_post_ops_append_eltwise(ops, 1, op.alg, op.alpha ?? 0, 0),
          "dnnl_post_ops_append_eltwise",
        );
      } else {
        check(fn.dnnl_post_ops_append_binary(ops, op.alg, op.md), "dnnl_post_ops_append_binary");
      }
    }
    check(fn.dnnl_primitive_attr_set_post_ops(attr, ops), "dnnl_primitive_attr_set_post_ops");
    return new Primitive(rt, desc, { attr, threads });
  } finally {
    fn.dnnl_post_ops_destroy(ops);
    fn.dnnl_primitive_attr_destroy(attr);
  }
}
