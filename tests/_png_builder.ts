// Hand-built PNGs for the decoder's tests: any colour type, bit depth and interlace, rows
// filtered with a chosen filter each, written straight from the specification and independent
// of src/images.

/** What to build; `sample(x, y, c)` gives each sample at the PNG's own bit depth. */
export interface PngSpec {
  width: number;
  height: number;
  bitDepth: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  interlace?: boolean;
  sample: (x: number, y: number, c: number) => number;
  palette?: Uint8Array;
  trns?: Uint8Array;
  /** The filter type of row r of a pass. Default: r % 5, so all five appear. */
  filter?: (r: number) => number;
  /** How many IDAT chunks to split the data into. Default 1. */
  idatChunks?: number;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** The PNG file of `spec`. */
export async function buildPng(spec: PngSpec): Promise<Uint8Array> {
  const { width, height, bitDepth, colorType } = spec;
  const ch = CHANNELS[colorType];
  const passes = spec.interlace ? ADAM7 : [[0, 0, 1, 1]];
  const raw: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    const xs: number[] = [];
    for (let x = x0; x < width; x += dx) xs.push(x);
    if (xs.length === 0) continue;
    let prev: number[] | undefined;
    let r = 0;
    for (let y = y0; y < height; y += dy, r++) {
      const row = packRow(
        xs.map((x) => Array.from({ length: ch }, (_, c) => spec.sample(x, y, c))).flat(),
        bitDepth,
      );
      const f = (spec.filter ?? ((r: number) => r % 5))(r);
      raw.push(f, ...filterRow(f, row, prev, Math.max(1, (ch * bitDepth) >> 3)));
      prev = row;
    }
  }
  const z = new Uint8Array(
    await new Response(
      new Blob([new Uint8Array(raw)]).stream().pipeThrough(new CompressionStream("deflate")),
    ).arrayBuffer(),
  );
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([bitDepth, colorType, 0, 0, spec.interlace ? 1 : 0], 8);
  const chunks = [pngChunk("IHDR", ihdr), pngChunk("tEXt", new TextEncoder().encode("a\0b"))];
  if (spec.palette) chunks.push(pngChunk("PLTE", spec.palette));
  if (spec.trns) chunks.push(pngChunk("tRNS", spec.trns));
  const n = spec.idatChunks ?? 1;
  const step = Math.ceil(z.length / n);
  for (let i = 0; i < z.length; i += step) chunks.push(pngChunk("IDAT", z.subarray(i, i + step)));
  chunks.push(pngChunk("IEND", new Uint8Array(0)));
  return concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ...chunks]);
}

function packRow(samples: number[], depth: number): number[] {
  if (depth === 8) return samples;
  if (depth === 16) return samples.flatMap((s) => [s >> 8, s & 0xff]);
  const out = new Array(Math.ceil((samples.length * depth) / 8)).fill(0);
  samples.forEach((s, i) => {
    const bit = i * depth;
    out[bit >> 3] |= s << (8 - depth - (bit % 8));
  });
  return out;
}

function filterRow(f: number, row: number[], prev: number[] | undefined, bpp: number): number[] {
  return row.map((x, i) => {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev?.[i] ?? 0;
    const c = i >= bpp ? prev?.[i - bpp] ?? 0 : 0;
    const p = a + b - c;
    const pred = [
      0,
      a,
      b,
      Math.floor((a + b) / 2),
      (Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c))
        ? a
        : Math.abs(p - b) <= Math.abs(p - c)
        ? b
        : c,
    ][f];
    return (x - pred + 256) % 256;
  });
}

/** One chunk: length, type, data, CRC-32 of type and data. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const body = concat([new TextEncoder().encode(type), data]);
  const out = new Uint8Array(body.length + 8);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  out.set(body, 4);
  v.setUint32(4 + body.length, crc(body));
  return out;
}

function crc(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
