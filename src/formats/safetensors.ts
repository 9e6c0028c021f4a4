/**
 * Reading and writing safetensors bytes: an 8-byte little-endian header length, a JSON header
 * naming each tensor's dtype, shape and byte range, then the raw little-endian data. Pure
 * functions over `Uint8Array`, so they run in browsers too; `safetensors_file.ts` reads and
 * writes files.
 *
 * @module
 */
import { LimitError } from "../errors.ts";
import { _decodeToFloat32, _DTYPE_BYTES, _encodeFloat16 } from "./_dtypes.ts";

/** A tensor read from a checkpoint file, converted to float32 on the host. */
export interface HostTensor {
  /** The dtype stored in the file, in safetensors spelling ("F32", "F16", "BF16", "I64", ...). */
  dtype: string;
  /** Row-major shape; `[]` for a scalar. */
  shape: number[];
  /** The values, row-major, as float32. */
  data: Float32Array;
}

/**
 * The most bytes reading a state dict spends by default (2 GiB), checked before it is spent:
 * for `readSafetensors`, the tensors as float32; for `readTorchStateDict`, every storage's
 * values as float32, counted once per storage however many tensors share it, plus the bytes of
 * deflated entries once inflated and the copies strided views need. The largest published DDPM
 * (256x256, 114M parameters) takes 456 MB. Files larger than this are not read.
 *
 * @example
 * ```ts
 * import { MAX_STATE_DICT_BYTES } from "@x/ddpm/formats";
 * if (MAX_STATE_DICT_BYTES !== 2 ** 31) throw new Error();
 * ```
 */
export const MAX_STATE_DICT_BYTES = 2 ** 31;

/** What {@linkcode readSafetensors} returns: the tensors in file order, and `__metadata__`. */
export interface SafetensorsContents {
  /** Tensors by name, ordered by their position in the data section. */
  tensors: Map<string, HostTensor>;
  /** The string-to-string `__metadata__` of the header; `{}` when absent. */
  metadata: Record<string, string>;
}

/** A tensor to write: its shape and float32 values (row-major). */
export interface Float32TensorData {
  /** Row-major shape; `[]` for a scalar. */
  shape: readonly number[];
  /** Exactly `prod(shape)` values. */
  data: Float32Array;
}

// The reference implementation refuses headers above 100 MB; a larger length is corruption.
const MAX_HEADER_BYTES = 100_000_000;
const FIX = "the file is truncated or corrupt: download or save it again";

function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isShape(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && d >= 0);
}

interface RawEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(
  bytes: Uint8Array,
): { entries: RawEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) {
    throw new RangeError(
      `Cannot read safetensors: the file is ${bytes.length} bytes, shorter than its 8-byte header length; ${FIX}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8 || headerLen > MAX_HEADER_BYTES) {
    throw new RangeError(
      `Cannot read safetensors: the header length ${headerLen} exceeds the ${
        bytes.length - 8
      } bytes after it; ${FIX}`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)),
    );
  } catch (err) {
    throw new TypeError(
      `Cannot read safetensors: the header is not valid UTF-8 JSON (${
        (err as Error).message
      }); ${FIX}`,
    );
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new TypeError(`Cannot read safetensors: the header is not a JSON object; ${FIX}`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: RawEntry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) {
        throw new TypeError(`Cannot read safetensors: "__metadata__" is not an object; ${FIX}`);
      }
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== "string") {
          throw new TypeError(
            `Cannot read safetensors: "__metadata__.${k}" is ${typeof v}, not a string; ${FIX}`,
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    const e = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const where = `Cannot read safetensors tensor "${name}"`;
    if (typeof e !== "object" || e === null) {
      throw new TypeError(`${where}: its entry is not an object; ${FIX}`);
    }
    if (typeof e.dtype !== "string" || !(e.dtype in _DTYPE_BYTES)) {
      throw new TypeError(
        `${where}: dtype ${JSON.stringify(e.dtype)} is not supported (supported: ${
          Object.keys(_DTYPE_BYTES).join(", ")
        }); convert the checkpoint to float32 or float16 before loading`,
      );
    }
    if (!isShape(e.shape)) {
      throw new TypeError(
        `${where}: shape ${JSON.stringify(e.shape)} is not a list of sizes; ${FIX}`,
      );
    }
    const off = e.data_offsets;
    if (!isShape(off) || off.length !== 2 || off[0] > off[1]) {
      throw new RangeError(
        `${where}: data_offsets ${JSON.stringify(off)} are not [begin, end]; ${FIX}`,
      );
    }
    if (off[1] > dataLen) {
      throw new RangeError(
        `${where}: data_offsets [${off[0]}, ${
          off[1]
        }] run past the ${dataLen}-byte data section; ${FIX}`,
      );
    }
    const expected = shapeSize(e.shape) * _DTYPE_BYTES[e.dtype];
    if (off[1] - off[0] !== expected) {
      throw new RangeError(
        `${where}: data_offsets [${off[0]}, ${off[1]}] hold ${off[1] - off[0]} bytes, but shape [${
          e.shape.join(", ")
        }] of ${e.dtype} needs ${expected}; ${FIX}`,
      );
    }
    entries.push({ name, dtype: e.dtype, shape: e.shape, begin: off[0], end: off[1] });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  // The format requires the tensors to tile the data section exactly: no overlap, no gap.
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.begin < pos) {
      throw new RangeError(
        `Cannot read safetensors tensor "${e.name}": data_offsets [${e.begin}, ${e.end}] overlap tensor "${
          entries[i - 1].name
        }" (ends at ${pos}); ${FIX}`,
      );
    }
    if (e.begin > pos) {
      throw new RangeError(
        `Cannot read safetensors tensor "${e.name}": data_offsets start at ${e.begin}, leaving a gap after byte ${pos}; ${FIX}`,
      );
    }
    pos = e.end;
  }
  if (pos !== dataLen) {
    throw new RangeError(
      `Cannot read safetensors: the tensors cover ${pos} of the ${dataLen} data bytes; ${FIX}`,
    );
  }
  return { entries, metadata, dataStart };
}

/**
 * Parses a safetensors file. Every size and offset is checked before it is used; F32, F16,
 * BF16, F64 and the integer types are converted to float32.
 *
 * @param bytes The whole file.
 * @returns The tensors by name and the header's `__metadata__`.
 * @throws {RangeError} when the header length or a tensor's offsets fall outside the file,
 *   overlap, leave gaps, or disagree with its shape.
 * @throws {TypeError} when the header is not JSON or names an unknown dtype.
 * @throws {LimitError} when the tensors take more than {@linkcode MAX_STATE_DICT_BYTES} as
 *   float32.
 *
 * @example Round trip
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@x/ddpm";
 * const bytes = writeSafetensors(new Map([["w", { shape: [2], data: new Float32Array([1, 2]) }]]));
 * const { tensors } = readSafetensors(bytes);
 * if (tensors.get("w")!.data[1] !== 2) throw new Error("lost a value");
 * ```
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsContents {
  const { entries, metadata, dataStart } = parseHeader(bytes);
  // One-byte dtypes widen fourfold: the total is checked before anything is decoded.
  const total = entries.reduce((n, e) => n + shapeSize(e.shape) * 4, 0);
  if (total > MAX_STATE_DICT_BYTES) {
    throw new LimitError(
      `Cannot read safetensors: its tensors take ${total} bytes as float32, over the cap of ` +
        `${MAX_STATE_DICT_BYTES} (MAX_STATE_DICT_BYTES)`,
    );
  }
  const tensors = new Map<string, HostTensor>();
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, {
      dtype: e.dtype,
      shape: e.shape,
      data: _decodeToFloat32(raw, e.dtype, shapeSize(e.shape)),
    });
  }
  return { tensors, metadata };
}

/** The element types {@linkcode writeSafetensors} can store: float32, or IEEE half. */
export type SafetensorsWriteDtype = "F32" | "F16";

/** How {@linkcode writeSafetensors} stores the values. */
export interface WriteSafetensorsOptions {
  /**
   * `"F32"` (default) stores the values as they are; `"F16"` rounds each to the nearest IEEE
   * half (ties to even; relative error at most 2^-11 for magnitudes in [2^-14, 65504],
   * beyond 65504 infinity, below 2^-14 subnormals), half the bytes. Readers (this library's,
   * PyTorch's, diffusers') widen them again.
   */
  dtype?: SafetensorsWriteDtype;
}

/**
 * Serialises float32 tensors as safetensors (dtype F32, or F16 when asked), in name order,
 * with the header padded by spaces to a multiple of 8 bytes so that the data section stays
 * aligned.
 *
 * @param tensors Tensors by name.
 * @param metadata Optional string-to-string `__metadata__`, e.g. `{ format: "pt" }`.
 * @param options `dtype: "F16"` stores half-precision values, half the size.
 * @returns The file's bytes.
 * @throws {TypeError} when a tensor's value count differs from its shape, a name is empty
 *   or `__metadata__`, or the dtype is not F32 or F16.
 *
 * @example
 * ```ts
 * import { writeSafetensors } from "@x/ddpm";
 * const bytes = writeSafetensors(new Map([["b", { shape: [3], data: new Float32Array(3) }]]));
 * const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
 * if ((8 + headerLength) % 8 !== 0) throw new Error("data section not aligned");
 * ```
 *
 * @example Half precision
 * ```ts
 * import { readSafetensors, writeSafetensors } from "@x/ddpm";
 * const w = new Map([["w", { shape: [2], data: new Float32Array([0.1, 70000]) }]]);
 * const half = writeSafetensors(w, undefined, { dtype: "F16" });
 * const { tensors } = readSafetensors(half);
 * const [a, b] = tensors.get("w")!.data;
 * if (tensors.get("w")!.dtype !== "F16") throw new Error("not stored as F16");
 * if (Math.abs(a - 0.1) > 0.1 * 2 ** -11 || b !== Infinity) throw new Error(`${a} ${b}`);
 * ```
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, Float32TensorData>,
  metadata?: Record<string, string>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  if (dtype !== "F32" && dtype !== "F16") {
    throw new TypeError(
      `Cannot write safetensors: dtype ${
        JSON.stringify(dtype)
      } is not supported; use "F32" or "F16"`,
    );
  }
  const bytesPer = _DTYPE_BYTES[dtype];
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(
          `Cannot write safetensors: metadata "${k}" must be a string, got ${typeof v}`,
        );
      }
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (name === "" || name === "__metadata__") {
      throw new TypeError(`Cannot write safetensors: "${name}" is not a valid tensor name`);
    }
    if (!isShape([...t.shape]) || shapeSize(t.shape) !== t.data.length) {
      throw new TypeError(
        `Cannot write safetensors tensor "${name}": shape [${t.shape.join(", ")}] needs ${
          shapeSize(t.shape)
        } values, got ${t.data.length}`,
      );
    }
    header[name] = {
      dtype,
      shape: [...t.shape],
      data_offsets: [offset, offset + t.data.length * bytesPer],
    };
    offset += t.data.length * bytesPer;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded > json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  const le = new DataView(out.buffer);
  for (const name of names) {
    const values = tensors.get(name)!.data;
    const data = dtype === "F16" ? _encodeFloat16(values) : values;
    // Typed array bytes are host-endian; every platform Deno runs on is little-endian, but
    // write through DataView where that is not so.
    if (IS_LITTLE_ENDIAN) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    } else if (data instanceof Uint16Array) {
      for (let i = 0; i < data.length; i++) le.setUint16(pos + 2 * i, data[i], true);
    } else {
      for (let i = 0; i < data.length; i++) le.setFloat32(pos + 4 * i, data[i], true);
    }
    pos += data.byteLength;
  }
  return out;
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
