/**
 * Writing ZIP archives of stored (uncompressed) entries, as `np.savez` writes `.npz` files.
 *
 * @module
 */
const LIMIT = 0xffffffff;

let crcTable: Uint32Array | undefined;

/** CRC-32 (the ZIP and PNG polynomial 0xEDB88320), by table; no Node built-in, so it runs anywhere. */
function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Builds a ZIP archive whose entries are stored uncompressed, with CRC-32 checksums, in the
 * order given. Timestamps are fixed (1980-01-01) so that the same entries give the same bytes.
 * Entries and the archive are limited to 4 GiB (no ZIP64).
 *
 * @param entries File names (UTF-8) and their contents.
 * @returns The archive's bytes.
 * @throws {RangeError} When an entry or the archive would pass 4 GiB, or a name is empty.
 *
 * @example The archive reads back with the project's ZIP reader
 * ```ts
 * import { writeZip } from "./zip_writer.ts";
 * import { openZip } from "./zip.ts";
 * const bytes = writeZip({ "a.txt": new TextEncoder().encode("hello") });
 * const text = new TextDecoder().decode(openZip(bytes).read("a.txt"));
 * if (text !== "hello") throw new Error(text);
 * ```
 */
export function writeZip(entries: Record<string, Uint8Array>): Uint8Array {
  const enc = new TextEncoder();
  const items = Object.entries(entries).map(([name, data]) => {
    if (name === "") throw new RangeError("Cannot write a ZIP entry with an empty name");
    if (data.length > LIMIT) {
      throw new RangeError(`Cannot write ZIP entry "${name}": ${data.length} bytes is over 4 GiB`);
    }
    return { name: enc.encode(name), data, crc: crc32(data), offset: 0 };
  });
  let size = 22;
  for (const it of items) size += 30 + it.name.length + it.data.length + 46 + it.name.length;
  if (size > LIMIT) {
    throw new RangeError(`Cannot write a ZIP archive of ${size} bytes (over 4 GiB)`);
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let p = 0;
  // Version 2.0, no flags, method 0 (stored), DOS time 0:00 and date 1980-01-01.
  const common = (at: number, it: (typeof items)[number]): void => {
    view.setUint16(at, 20, true);
    view.setUint16(at + 2, 0, true);
    view.setUint16(at + 4, 0, true);
    view.setUint16(at + 6, 0, true);
    view.setUint16(at + 8, (0 << 9) | (1 << 5) | 1, true);
    view.setUint32(at + 10, it.crc, true);
    view.setUint32(at + 14, it.data.length, true);
    view.setUint32(at + 18, it.data.length, true);
    view.setUint16(at + 22, it.name.length, true);
    view.setUint16(at + 24, 0, true);
  };
  for (const it of items) {
    it.offset = p;
    view.setUint32(p, 0x04034b50, true);
    common(p + 4, it);
    out.set(it.name, p + 30);
    out.set(it.data, p + 30 + it.name.length);
    p += 30 + it.name.length + it.data.length;
  }
  const cdStart = p;
  for (const it of items) {
    view.setUint32(p, 0x02014b50, true);
    view.setUint16(p + 4, 20, true); // made by: version 2.0, MS-DOS attributes
    common(p + 6, it);
    // comment length, disk number, internal and external attributes: all zero
    view.setUint32(p + 42, it.offset, true);
    out.set(it.name, p + 46);
    p += 46 + it.name.length;
  }
  view.setUint32(p, 0x06054b50, true);
  view.setUint16(p + 8, items.length, true);
  view.setUint16(p + 10, items.length, true);
  view.setUint32(p + 12, p - cdStart, true);
  view.setUint32(p + 16, cdStart, true);
  return out;
}
