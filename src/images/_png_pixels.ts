// From a PNG's inflated scanlines to 8-bit RGBA: undoing the row filters, the Adam7 passes and
// the sample formats (PNG specification, 2nd edition, sections 7-9 and 11.3.2).

/** What IHDR, PLTE and tRNS say about the pixels. */
export interface _PngHeader {
  width: number;
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
  /** PLTE: RGB triples. */
  palette?: Uint8Array;
  /** tRNS: alpha per palette entry, or the grey (2 bytes) or RGB (6 bytes) colour that is clear. */
  transparency?: Uint8Array;
}

/** Samples per pixel of each colour type. */
export const _CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Adam7: [x0, y0, dx, dy] of the seven passes. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** One pass of the image: its origin, steps and size (the whole image when not interlaced). */
interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  w: number;
  h: number;
}

function passes(h: _PngHeader): Pass[] {
  if (!h.interlaced) return [{ x0: 0, y0: 0, dx: 1, dy: 1, w: h.width, h: h.height }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({
    x0,
    y0,
    dx,
    dy,
    w: Math.max(0, Math.ceil((h.width - x0) / dx)),
    h: Math.max(0, Math.ceil((h.height - y0) / dy)),
  }));
}

/** Bytes per row of `w` pixels, without the filter byte. */
function rowBytes(h: _PngHeader, w: number): number {
  return Math.ceil((w * _CHANNELS[h.colorType] * h.bitDepth) / 8);
}

/** The size of the inflated image data: each non-empty pass's rows, each with a filter byte. */
export function _inflatedSize(h: _PngHeader): number {
  let size = 0;
  for (const p of passes(h)) if (p.w > 0) size += p.h * (1 + rowBytes(h, p.w));
  return size;
}

/**
 * Undoes the filters in place and writes the pixels as RGBA.
 *
 * @returns The RGBA bytes, or a string naming what is wrong (a filter type or palette index).
 */
export function _pngToRgba(h: _PngHeader, data: Uint8Array): Uint8Array | string {
  const out = new Uint8Array(h.width * h.height * 4);
  const bpp = Math.max(1, (_CHANNELS[h.colorType] * h.bitDepth) >> 3);
  const write = pixelWriter(h, out);
  let offset = 0;
  for (const p of passes(h)) {
    if (p.w === 0) continue;
    const stride = rowBytes(h, p.w);
    let prev: Uint8Array | undefined;
    for (let r = 0; r < p.h; r++) {
      const filter = data[offset];
      const row = data.subarray(offset + 1, offset + 1 + stride);
      if (!unfilter(filter, row, prev, bpp)) return `unknown row filter type ${filter}`;
      const bad = write(row, p, r);
      if (bad) return bad;
      prev = row;
      offset += 1 + stride;
    }
  }
  return out;
}

/** Reverses one row's filter in place (section 9.2); false for an unknown filter type. */
function unfilter(type: number, row: Uint8Array, prev: Uint8Array | undefined, bpp: number) {
  const n = row.length;
  switch (type) {
    case 0:
      return true;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = (row[i] + row[i - bpp]) & 0xff;
      return true;
    case 2:
      if (prev) { for (let i = 0; i < n; i++) row[i] = (row[i] + prev[i]) & 0xff; }
      return true;
    case 3:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? row[i - bpp] : 0;
        row[i] = (row[i] + ((a + (prev ? prev[i] : 0)) >> 1)) & 0xff;
      }
      return true;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? row[i - bpp] : 0;
        const b = prev ? prev[i] : 0;
        const c = prev && i >= bpp ? prev[i - bpp] : 0;
        row[i] = (row[i] + paeth(a, b, c)) & 0xff;
      }
      return true;
    default:
      return false;
  }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * A function that writes one unfiltered row of a pass into `out` as RGBA: samples scaled to
 * 8 bits (16-bit samples keep their high byte, as imagescript does; 1-, 2- and 4-bit grey
 * samples scale by 255, 85 and 17), palette indices looked up, tRNS applied: the grey or RGB
 * colour it names becomes transparent black (0, 0, 0, 0), as imagescript decodes it.
 */
function pixelWriter(
  h: _PngHeader,
  out: Uint8Array,
): (row: Uint8Array, p: Pass, r: number) => string | undefined {
  const { bitDepth: depth, colorType, width, transparency: trns } = h;
  const channels = _CHANNELS[colorType];
  // A sample at index s of the row, at its own bit depth.
  const sample = depth === 8
    ? (row: Uint8Array, s: number) => row[s]
    : depth === 16
    ? (row: Uint8Array, s: number) => (row[2 * s] << 8) | row[2 * s + 1]
    : (row: Uint8Array, s: number) => {
      const bit = s * depth;
      return (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
    };
  const to8 = depth === 16
    ? (v: number) => v >> 8
    : depth === 8
    ? (v: number) => v
    : (v: number) => (v * 255) / ((1 << depth) - 1);
  const key = (
    i: number,
  ) => (trns && trns.length >= 2 * (i + 1) ? (trns[2 * i] << 8) | trns[2 * i + 1] : -1);
  const palette = h.palette ?? new Uint8Array(0);
  return (row, p, r) => {
    const y = p.y0 + r * p.dy;
    for (let i = 0; i < p.w; i++) {
      const o = (y * width + p.x0 + i * p.dx) * 4;
      const s = i * channels;
      if (colorType === 3) {
        const index = sample(row, s);
        if (3 * index + 2 >= palette.length) {
          return `pixel (${p.x0 + i * p.dx}, ${y}) uses palette entry ${index} of ${
            palette.length / 3
          }`;
        }
        out[o] = palette[3 * index];
        out[o + 1] = palette[3 * index + 1];
        out[o + 2] = palette[3 * index + 2];
        out[o + 3] = trns && index < trns.length ? trns[index] : 255;
      } else if (colorType === 0 || colorType === 4) {
        const g = sample(row, s);
        out[o] = out[o + 1] = out[o + 2] = to8(g);
        out[o + 3] = colorType === 4 ? to8(sample(row, s + 1)) : 255;
        if (colorType === 0 && g === key(0)) {
          out[o] =
            out[o + 1] =
            out[o + 2] =
            out[o + 3] =
              0;
        }
      } else {
        const red = sample(row, s), green = sample(row, s + 1), blue = sample(row, s + 2);
        out[o] = to8(red);
        out[o + 1] = to8(green);
        out[o + 2] = to8(blue);
        out[o + 3] = colorType === 6 ? to8(sample(row, s + 3)) : 255;
        if (colorType === 2 && red === key(0) && green === key(1) && blue === key(2)) {
          out[o] =
            out[o + 1] =
            out[o + 2] =
            out[o + 3] =
              0;
        }
      }
    }
    return undefined;
  };
}
