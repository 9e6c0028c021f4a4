// Test helpers that write torch.save-style archives byte by byte: a pickle assembler, so that
// each test states exactly which instructions it sends, and a ZIP writer.
import { deflateRawSync } from "node:zlib";

// ---- a tiny pickle assembler, so that each test states exactly which instructions it sends

export class Pickle {
  bytes: number[] = [0x80, 0x02];
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  str(s: string): this {
    const u = new TextEncoder().encode(s);
    return this.op(0x58, u.length & 255, (u.length >> 8) & 255, 0, 0, ...u);
  }
  int(n: number): this {
    return this.op(0x4a, n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  reduce(): this {
    return this.op(0x52);
  }
  ints(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  /** Pushes a tensor rebuilt from storage `key` (a FloatStorage unless told). */
  tensor(
    key: string,
    numel: number,
    offset: number,
    size: number[],
    stride: number[],
    storage = "FloatStorage",
  ): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark();
    this.mark().str("storage").global("torch", storage).str(key).str("cpu").int(numel).tuple().op(
      0x51,
    );
    this.int(offset).ints(size).ints(stride).op(0x89);
    this.global("collections", "OrderedDict").op(0x29).reduce();
    return this.tuple().reduce();
  }
  /** Starts an OrderedDict and a MARK for its items. */
  dict(): this {
    return this.global("collections", "OrderedDict").op(0x29).reduce().mark();
  }
  end(): Uint8Array {
    return new Uint8Array([...this.bytes, 0x2e]);
  }
}

// ---- a ZIP writer with stored or deflated entries and optional ZIP64 records

export function zip(
  files: Record<string, Uint8Array>,
  opts: { deflate?: boolean; zip64?: boolean } = {},
): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const entries = Object.entries(files);
  for (const [name, data] of entries) {
    const body = opts.deflate ? new Uint8Array(deflateRawSync(data)) : data;
    const n = enc.encode(name);
    const local = new Uint8Array(30 + n.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(8, opts.deflate ? 8 : 0, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    const extra = opts.zip64 ? new Uint8Array(4 + 24) : new Uint8Array(0);
    if (opts.zip64) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 0x0001, true);
      ev.setUint16(2, 24, true);
      ev.setBigUint64(4, BigInt(data.length), true);
      ev.setBigUint64(12, BigInt(body.length), true);
      ev.setBigUint64(20, BigInt(offset), true);
    }
    const c = new Uint8Array(46 + n.length + extra.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(10, opts.deflate ? 8 : 0, true);
    cv.setUint32(20, opts.zip64 ? 0xffffffff : body.length, true);
    cv.setUint32(24, opts.zip64 ? 0xffffffff : data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint32(42, opts.zip64 ? 0xffffffff : offset, true);
    c.set(n, 46);
    c.set(extra, 46 + n.length);
    central.push(c);
    parts.push(local, body);
    offset += local.length + body.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  parts.push(...central);
  offset += cdSize;
  if (opts.zip64) {
    const rec = new Uint8Array(56);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(24, BigInt(entries.length), true);
    rv.setBigUint64(32, BigInt(entries.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    const loc = new Uint8Array(20);
    const locv = new DataView(loc.buffer);
    locv.setUint32(0, 0x07064b50, true);
    locv.setBigUint64(8, BigInt(offset), true);
    parts.push(rec, loc);
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.zip64 ? 0xffff : entries.length, true);
  ev.setUint16(10, opts.zip64 ? 0xffff : entries.length, true);
  ev.setUint32(12, opts.zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, opts.zip64 ? 0xffffffff : cdOffset, true);
  parts.push(eocd);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** A torch.save archive of float32 tensors, one storage each, as PyTorch lays it out. */
export function torchSave(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
): Uint8Array {
  const p = new Pickle().dict();
  const files: Record<string, Uint8Array> = {};
  let key = 0;
  for (const [name, t] of tensors) {
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    p.str(name).tensor(String(key), t.data.length, 0, t.shape, stride);
    files[`archive/data/${key}`] = new Uint8Array(
      t.data.buffer,
      t.data.byteOffset,
      t.data.byteLength,
    );
    key++;
  }
  files["archive/data.pkl"] = p.op(0x75).end();
  return zip(files);
}
