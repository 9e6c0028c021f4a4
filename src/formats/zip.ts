/**
 * A minimal ZIP reader, enough for `torch.save` archives: central directory, stored and
 * deflated entries, ZIP64 sizes and offsets. Every offset is checked against the file.
 *
 * @module
 */
import { inflateRawSync } from "node:zlib";
import { LimitError } from "../errors.ts";

/**
 * The most bytes one deflated ZIP entry may inflate to (256 MiB), checked against the size the
 * archive declares before anything is inflated, so a small file cannot ask for gigabytes.
 * `torch.save` stores its entries uncompressed (read as views, at no cost), and the largest
 * tensor of a published DDPM is about 10 MB.
 *
 * @example
 * ```ts
 * import { MAX_ZIP_INFLATED_BYTES } from "./zip.ts";
 * if (MAX_ZIP_INFLATED_BYTES !== 256 * 2 ** 20) throw new Error();
 * ```
 */
export const MAX_ZIP_INFLATED_BYTES = 256 * 2 ** 20;

/** One file inside a ZIP archive, as the central directory describes it. */
export interface ZipEntry {
  /** Path inside the archive. */
  name: string;
  /** 0 = stored, 8 = deflate. */
  method: number;
  /** Bytes the entry occupies in the archive. */
  compressedSize: number;
  /** Bytes once decompressed. */
  size: number;
  /** Offset of the entry's local header. */
  localHeaderOffset: number;
}

/** An opened archive: its entries by name, and a way to read one. */
export interface ZipArchive {
  /** Entries by name, in central-directory order. */
  entries: Map<string, ZipEntry>;
  /**
   * The decompressed bytes of an entry. Stored entries are views into the archive, not copies.
   * Throws a RangeError when the name is not in the archive.
   */
  read(name: string): Uint8Array;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function fail(msg: string): never {
  throw new RangeError(`Cannot read ZIP archive: ${msg}; the file is truncated or corrupt`);
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a 64-bit field at byte ${at} is ${v}`);
  return Number(v);
}

/**
 * Opens a ZIP archive held in memory.
 *
 * @param bytes The whole archive.
 * @returns Its entries and a reader.
 * @throws {RangeError} when a record is missing or points outside the file.
 * @throws {TypeError} for encrypted entries or compression other than stored/deflate.
 *
 * @example Reject what is not a ZIP file
 * ```ts
 * import { openZip } from "./zip.ts";
 * let failed = false;
 * try {
 *   openZip(new Uint8Array(10));
 * } catch {
 *   failed = true;
 * }
 * if (!failed) throw new Error("accepted garbage");
 * ```
 */
export function openZip(bytes: Uint8Array): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  // The end record sits within the last 22 + 65535 (max comment) bytes.
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
    if (view.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("no end-of-central-directory record");
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (eocd >= 20 && view.getUint32(eocd - 20, true) === ZIP64_LOCATOR_SIG) {
    const z = u64(view, eocd - 20 + 8);
    if (z + 56 > n || view.getUint32(z, true) !== ZIP64_EOCD_SIG) fail("bad ZIP64 end record");
    count = u64(view, z + 32);
    cdSize = u64(view, z + 40);
    cdOffset = u64(view, z + 48);
  }
  if (cdOffset + cdSize > n) {
    fail(`central directory [${cdOffset}, ${cdOffset + cdSize}) beyond ${n} bytes`);
  }
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > n || view.getUint32(p, true) !== CENTRAL_SIG) {
      fail(`central directory entry ${k} missing`);
    }
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > n) fail(`central directory entry ${k} overruns`);
    const name = decoder.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64: fields saturated at 0xFFFFFFFF are given, in this order, in extra field 0x0001.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (e + 4 + len > extraEnd) fail(`extra field of "${name}" overruns`);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (): number => {
          if (q + 8 > e + 4 + len) fail(`ZIP64 field of "${name}" too short`);
          const v = u64(view, q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + len;
    }
    if (flags & 1) throw new TypeError(`Cannot read ZIP entry "${name}": it is encrypted`);
    if (method !== 0 && method !== 8) {
      throw new TypeError(
        `Cannot read ZIP entry "${name}": compression method ${method} is not supported (only stored and deflate)`,
      );
    }
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  const read = (name: string): Uint8Array => {
    const entry = entries.get(name);
    if (!entry) throw new RangeError(`Cannot read ZIP entry "${name}": not in the archive`);
    const h = entry.localHeaderOffset;
    if (h + 30 > n || view.getUint32(h, true) !== LOCAL_SIG) {
      fail(`local header of "${name}" missing`);
    }
    // Sizes in the local header may be zero (data descriptor); the central directory's are used.
    const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
    const end = start + entry.compressedSize;
    if (end > n) fail(`entry "${name}" [${start}, ${end}) runs past ${n} bytes`);
    const raw = bytes.subarray(start, end);
    if (entry.method === 0) {
      if (entry.size !== entry.compressedSize) fail(`stored entry "${name}" has two sizes`);
      return raw;
    }
    if (entry.size > MAX_ZIP_INFLATED_BYTES) {
      throw new LimitError(
        `Cannot read ZIP entry "${name}": it declares ${entry.size} bytes once inflated, over ` +
          `the cap of ${MAX_ZIP_INFLATED_BYTES} bytes (256 MiB) per deflated entry`,
      );
    }
    // Deflate shrinks at most ~1032:1; a larger declared size is a lie, refused unread.
    if (entry.size > entry.compressedSize * 1032 + 1024) {
      fail(`entry "${name}" declares ${entry.size} bytes from ${entry.compressedSize} compressed`);
    }
    // Capping the output refuses a deflate bomb before it fills memory.
    let inflated: Uint8Array;
    try {
      inflated = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      fail(`entry "${name}" does not inflate to ${entry.size} bytes (${(err as Error).message})`);
    }
    const out = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
    if (out.length !== entry.size) {
      fail(`entry "${name}" inflates to ${out.length} bytes, not ${entry.size}`);
    }
    return out;
  };
  return { entries, read };
}
