// The restricted pickle machine shared by both torch.save formats (the ZIP archive of PyTorch
// >= 1.6 and the legacy stream before it). A pickle is a program for a stack machine that may
// call any Python function it names; this one runs only the instructions a state dict needs and
// knows only a fixed list of names (OrderedDict, tensor rebuilds, storage types), which it
// interprets itself: it never calls anything the file names, so a hostile file can do no more
// than fail to load.
import { FormatError, LimitError } from "../errors.ts";
import { _decodeToFloat32, _DTYPE_BYTES } from "./_dtypes.ts";
import type { HostTensor } from "./safetensors.ts";

export class _PyDict {
  readonly items = new Map<unknown, unknown>();
}

export class _PyGlobal {
  constructor(readonly qualname: string) {}
}

/**
 * A storage named by a persistent id. Its bytes may arrive after the pickle (the legacy format
 * stores them after it), so tensors are only materialised once every storage has its bytes.
 */
export class _TorchStorage {
  #bytes: Uint8Array | undefined;
  constructor(
    readonly dtype: string,
    readonly key: string,
    bytes?: Uint8Array,
    /** For a legacy storage view: the storage it views, and its element offset and count. */
    readonly view?: { root: _TorchStorage; offset: number; size: number },
  ) {
    this.#bytes = bytes;
  }
  /** Sets the bytes once they are read. */
  setBytes(bytes: Uint8Array): void {
    this.#bytes = bytes;
  }
  /** Whether the bytes are known. */
  get loaded(): boolean {
    return this.view ? this.view.root.loaded : this.#bytes !== undefined;
  }
  /** The storage's bytes; a view's are a window of its root's. */
  get bytes(): Uint8Array {
    if (this.view) {
      const { root, offset, size } = this.view;
      const elem = _DTYPE_BYTES[this.dtype];
      const all = root.bytes;
      if ((offset + size) * elem > all.length) {
        fail(`storage view ${this.key} reaches past storage ${root.key}`);
      }
      return all.subarray(offset * elem, (offset + size) * elem);
    }
    if (!this.#bytes) fail(`storage ${this.key} has no data`);
    return this.#bytes;
  }
}

/** A tensor as the pickle describes it, materialised once its storage's bytes are known. */
class TensorRef {
  constructor(
    readonly storage: _TorchStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/**
 * What reading a state dict may spend: each storage's values as float32, counted once per
 * storage however many tensors view it (before it is inflated or decoded), and the copies that
 * non-contiguous views need.
 */
export class _Float32Budget {
  #spent = 0;
  constructor(readonly maxBytes: number) {}
  /** Counts `bytes` for `what`, or throws a LimitError when the total passes the cap. */
  spend(bytes: number, what: string): void {
    this.#spent += bytes;
    if (this.#spent > this.maxBytes) {
      throw new LimitError(
        `Cannot read torch state dict: ${what} (${bytes} bytes as float32) brings the total to ` +
          `${this.#spent} bytes, over the cap of ${this.maxBytes}`,
      );
    }
  }
}

// Storage classes name the element type of the bytes in data/<key>.
export const _STORAGE_DTYPES: Readonly<Record<string, string>> = {
  "torch.FloatStorage": "F32",
  "torch.HalfStorage": "F16",
  "torch.BFloat16Storage": "BF16",
  "torch.DoubleStorage": "F64",
  "torch.LongStorage": "I64",
  "torch.IntStorage": "I32",
  "torch.ShortStorage": "I16",
  "torch.CharStorage": "I8",
  "torch.ByteStorage": "U8",
  "torch.BoolStorage": "BOOL",
};

// Names that may only be passed around as markers (the class of a rebuilt tensor).
const TYPE_MARKERS = new Set(["torch.Tensor", "torch.nn.parameter.Parameter"]);

const CALLABLES = new Set([
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  "torch._tensor._rebuild_from_type_v2",
]);

function isAllowedGlobal(qualname: string): boolean {
  return qualname in _STORAGE_DTYPES || TYPE_MARKERS.has(qualname) || CALLABLES.has(qualname);
}

// Opcodes this reader refuses, named so that the error says what the file tried.
const REFUSED_OPCODES: Readonly<Record<number, string>> = {
  0x69: "INST",
  0x6f: "OBJ",
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x50: "PERSID",
  0x49: "INT",
  0x4c: "LONG",
  0x8b: "LONG4",
  0x53: "STRING",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x56: "UNICODE",
  0x46: "FLOAT",
  0x8e: "BINBYTES8",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x67: "GET",
  0x70: "PUT",
};

/** Throws the reader's TypeError for a malformed file. */
export function fail(msg: string): never {
  throw new TypeError(`Cannot read torch state dict: ${msg}`);
}

function asInt(x: unknown, what: string): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x)) fail(`${what} is not an integer`);
  return x;
}

function asIntTuple(x: unknown, what: string): number[] {
  if (!Array.isArray(x)) fail(`${what} is not a tuple`);
  return x.map((v, i) => asInt(v, `${what}[${i}]`));
}

/** Checks a tensor rebuild's arguments; the data is read later, by {@linkcode materialise}. */
function rebuildTensor(
  storage: unknown,
  offsetArg: unknown,
  sizeArg: unknown,
  strideArg: unknown,
): TensorRef {
  if (!(storage instanceof _TorchStorage)) fail("a tensor rebuild did not receive a storage");
  const offset = asInt(offsetArg, "storage_offset");
  const shape = asIntTuple(sizeArg, "size");
  const stride = asIntTuple(strideArg, "stride");
  if (stride.length !== shape.length) fail(`size [${shape}] and stride [${stride}] differ in rank`);
  if (offset < 0 || shape.some((d) => d < 0) || stride.some((s) => s < 0)) {
    fail(`negative size, stride or offset in a tensor of storage ${storage.key}`);
  }
  return new TensorRef(storage, offset, shape, stride);
}

/**
 * Each root storage's values as float32, decoded once: the tensors that view a storage share
 * this memory, so forty keys naming one 256 MiB storage cost 256 MiB, not forty copies.
 */
class DecodedStorages {
  readonly #decoded = new Map<_TorchStorage, Float32Array>();
  constructor(readonly littleEndian: boolean, readonly budget: _Float32Budget) {}
  /** The storage's values, and where a (legacy) view of it starts in its root's. */
  get(storage: _TorchStorage): { values: Float32Array; start: number } {
    const root = storage.view?.root ?? storage;
    let values = this.#decoded.get(root);
    if (!values) {
      const bytes = root.bytes;
      const numel = Math.floor(bytes.length / _DTYPE_BYTES[root.dtype]);
      values = _decodeToFloat32(bytes, root.dtype, numel, this.littleEndian);
      this.#decoded.set(root, values);
    }
    return { values, start: storage.view?.offset ?? 0 };
  }
}

/** A (possibly strided) view of a storage as a contiguous float32 array, shared when it can be. */
function materialise(ref: TensorRef, storages: DecodedStorages): HostTensor {
  const { storage, offset, shape, stride } = ref;
  const elem = _DTYPE_BYTES[storage.dtype];
  const storageNumel = Math.floor(storage.bytes.length / elem);
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return { dtype: storage.dtype, shape, data: new Float32Array(0) };
  let extent = 1;
  for (let i = 0; i < shape.length; i++) extent += (shape[i] - 1) * stride[i];
  // A view with more elements than its storage repeats them (stride 0); refusing it keeps a
  // small hostile file from asking for an enormous allocation.
  if (numel > storageNumel) {
    throw new RangeError(
      `Cannot read torch state dict: a tensor of shape [${shape}] has more elements than its storage ${storage.key} (${storageNumel}); expanded (stride 0) tensors are not supported, save a contiguous copy`,
    );
  }
  if (offset + extent > storageNumel) {
    throw new RangeError(
      `Cannot read torch state dict: a tensor of shape [${shape}] at offset ${offset} needs ${
        offset + extent
      } elements of storage ${storage.key}, which holds ${storageNumel}; the file is truncated or corrupt`,
    );
  }
  const { values, start } = storages.get(storage);
  const base = start + offset;
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i];
  }
  if (contiguous) {
    return { dtype: storage.dtype, shape, data: values.subarray(base, base + numel) };
  }
  storages.budget.spend(numel * 4, `a strided view of storage ${storage.key}`);
  const data = new Float32Array(numel);
  const index = new Array<number>(shape.length).fill(0);
  let src = base;
  for (let k = 0; k < numel; k++) {
    data[k] = values[src];
    // Odometer over the row-major index, moving the source position by the strides.
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      src += stride[d];
      if (index[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return { dtype: storage.dtype, shape, data };
}

function isTensor(x: unknown): x is TensorRef {
  return x instanceof TensorRef;
}

function call(fn: _PyGlobal, args: unknown[]): unknown {
  switch (fn.qualname) {
    case "collections.OrderedDict":
      if (args.length !== 0) fail("OrderedDict is only rebuilt empty in a state dict");
      return new _PyDict();
    case "torch._utils._rebuild_tensor":
    case "torch._utils._rebuild_tensor_v2":
      return rebuildTensor(args[0], args[1], args[2], args[3]);
    case "torch._utils._rebuild_parameter":
      if (!isTensor(args[0])) fail("_rebuild_parameter did not receive a tensor");
      return args[0];
    case "torch._tensor._rebuild_from_type_v2": {
      const [inner, type, innerArgs] = args;
      if (!(inner instanceof _PyGlobal) || !CALLABLES.has(inner.qualname)) {
        fail("_rebuild_from_type_v2 did not receive a tensor rebuild function");
      }
      if (!(type instanceof _PyGlobal) || !TYPE_MARKERS.has(type.qualname)) {
        fail("_rebuild_from_type_v2 did not receive torch.Tensor or Parameter");
      }
      if (!Array.isArray(innerArgs)) fail("_rebuild_from_type_v2 arguments are not a tuple");
      return call(inner, innerArgs);
    }
  }
  fail(`"${fn.qualname}" cannot be called`);
}

/**
 * Runs the restricted pickle machine over `pkl` from byte `start` to its STOP instruction.
 * `name` is the pickle's name in messages; `loadStorage` turns a persistent id into a storage.
 * Returns the object built and the offset just past the STOP.
 */
export function _unpickle(
  pkl: Uint8Array,
  opts: { start?: number; name: string; loadStorage?: (pid: unknown) => _TorchStorage },
): { value: unknown; end: number } {
  const { name, loadStorage } = opts;
  const view = new DataView(pkl.buffer, pkl.byteOffset, pkl.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let pos = opts.start ?? 0;
  const need = (k: number): number => {
    if (pos + k > pkl.length) fail(`${name} ends inside an instruction at byte ${pos}`);
    const at = pos;
    pos += k;
    return at;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail(`${name} pops an empty stack at byte ${pos}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail(`${name} reads an empty stack at byte ${pos}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail(`${name} closes a MARK it never opened at byte ${pos}`);
    stack = prev;
    return items;
  };
  const readLine = (): string => {
    const end = pkl.indexOf(0x0a, pos);
    if (end < 0) fail(`${name} ends inside a GLOBAL name`);
    const s = new TextDecoder().decode(pkl.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (len: number): string => {
    const at = need(len);
    return utf8.decode(pkl.subarray(at, at + len));
  };
  const global = (module: string, name: string): _PyGlobal => {
    const qualname = `${module}.${name}`;
    if (!isAllowedGlobal(qualname)) {
      throw new FormatError(
        `Refusing to load a torch state dict whose pickle asks for "${qualname}": only tensors, ` +
          "storages and OrderedDict are allowed, and nothing in the file is ever executed. " +
          "If you trust the file, convert it to safetensors with Python.",
      );
    }
    return new _PyGlobal(qualname);
  };
  const setItems = (dict: unknown, kv: unknown[]): void => {
    if (!(dict instanceof _PyDict)) fail("SETITEM(S) on something that is not a dict");
    for (let i = 0; i + 1 < kv.length; i += 2) dict.items.set(kv[i], kv[i + 1]);
  };
  const append = (list: unknown, values: unknown[]): void => {
    if (!Array.isArray(list) || Object.isFrozen(list)) {
      fail("APPEND(S) on something that is not a list");
    }
    for (const v of values) list.push(v);
  };
  while (true) {
    const op = pkl[need(1)];
    switch (op) {
      case 0x80: // PROTO
        need(1);
        break;
      case 0x95: // FRAME: only a length hint
        need(8);
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new _PyDict());
        break;
      case 0x64: { // DICT
        const d = new _PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: { // LIST
        // popMark() replaces `stack`, so its result is taken before `stack.push` is looked up.
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]));
        break;
      case 0x74: { // TUPLE
        const items = Object.freeze(popMark());
        stack.push(items);
        break;
      }
      case 0x85: // TUPLE1
        stack.push(Object.freeze([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(Object.freeze([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(Object.freeze([pop(), b, c]));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(str(view.getUint32(need(4), true)));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(Number(view.getBigUint64(need(8), true))));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(pkl[need(1)]));
        break;
      case 0x43: { // SHORT_BINBYTES
        const len = pkl[need(1)];
        const at = need(len);
        stack.push(pkl.slice(at, at + len));
        break;
      }
      case 0x42: { // BINBYTES
        const len = view.getUint32(need(4), true);
        const at = need(len);
        stack.push(pkl.slice(at, at + len));
        break;
      }
      case 0x4a: // BININT
        stack.push(view.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(pkl[need(1)]);
        break;
      case 0x4d: // BININT2
        stack.push(view.getUint16(need(2), true));
        break;
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        const n = pkl[need(1)];
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(pkl[at + i]);
        if (n > 0 && pkl[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
          fail(`integer ${v} at byte ${at} is too large`);
        }
        stack.push(Number(v));
        break;
      }
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x47: // BINFLOAT: big-endian double
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x71: // BINPUT
        memo.set(pkl[need(1)], top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(view.getUint32(need(4), true), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const key = op === 0x68 ? pkl[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(key)) fail(`memo slot ${key} read before it was written`);
        stack.push(memo.get(key));
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const vs = popMark();
        append(top(), vs);
        break;
      }
      case 0x63: { // GLOBAL
        const module = readLine();
        stack.push(global(module, readLine()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          fail("STACK_GLOBAL without names");
        }
        stack.push(global(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof _PyGlobal)) fail("REDUCE on something that is not a known function");
        if (!Array.isArray(args)) fail(`REDUCE of "${fn.qualname}" without an argument tuple`);
        stack.push(call(fn, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        // A module's state_dict() carries `_metadata` (per-module versions) as OrderedDict
        // state; it is not needed to rebuild the weights. Tensors get no extra state here.
        if (!(obj instanceof _PyDict) && !(isTensor(obj) && state === null)) {
          fail("BUILD on an object other than a dict");
        }
        break;
      }
      case 0x51: // BINPERSID
        if (!loadStorage) fail(`${name} refers to a storage where none may be`);
        stack.push(loadStorage(pop()));
        break;
      default: {
        const name = REFUSED_OPCODES[op] ?? `0x${op.toString(16).padStart(2, "0")}`;
        throw new FormatError(
          `Refusing to load a torch state dict: its pickle uses the instruction ${name} at byte ${
            pos - 1
          }, which a state dict does not need; nothing in the file was executed`,
        );
      }
    }
  }
}

function collect(
  dict: _PyDict,
  prefix: string,
  out: Map<string, HostTensor>,
  storages: DecodedStorages,
  parents: Set<_PyDict>,
): void {
  // A pickle can make a dict hold itself (memo GET); following it would never end.
  if (parents.has(dict)) fail(`"${prefix.slice(0, -1)}" contains itself`);
  if (parents.size >= 64) fail(`dicts nested more than 64 deep at "${prefix.slice(0, -1)}"`);
  parents.add(dict);
  for (const [k, v] of dict.items) {
    if (typeof k !== "string") fail(`a state dict key is ${typeof k}, not a string`);
    const name = prefix + k;
    if (isTensor(v)) out.set(name, materialise(v, storages));
    else if (v instanceof _PyDict) collect(v, `${name}.`, out, storages, parents);
    else fail(`"${name}" holds a ${v === null ? "None" : typeof v}, not a tensor`);
  }
}

/**
 * The tensors of the dict a state-dict pickle built, by name ("." between nested keys), in the
 * file's order, as float32: contiguous tensors are views of their storage's values, decoded once.
 */
export function _collectTensors(
  root: unknown,
  littleEndian: boolean,
  budget: _Float32Budget,
): Map<string, HostTensor> {
  if (!(root instanceof _PyDict)) fail("the file does not hold a dict of tensors");
  const out = new Map<string, HostTensor>();
  collect(root, "", out, new DecodedStorages(littleEndian, budget), new Set());
  return out;
}
