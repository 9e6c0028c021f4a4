/**
 * PNG encoding with web-standard APIs only (`CompressionStream`), so that it runs the same in
 * Deno and in browsers.
 *
 * @module
 */
import { _crc32 } from "./_crc32.ts";

/** An 8-bit RGBA picture, row-major, 4 bytes per pixel (the layout of canvas `ImageData`). */
export interface RgbaImage {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** `width * height * 4` bytes: red, green, blue, alpha. */
  data: Uint8Array | Uint8ClampedArray;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Encodes a picture as a PNG file: 8-bit RGB when every pixel is opaque, else RGBA, each row
 * with the filter that leaves the smallest sum of residuals (the usual heuristic), compressed
 * with the platform's zlib `CompressionStream`.
 *
 * @param image The pixels.
 * @returns The PNG file's bytes.
 * @throws {RangeError} when the size is not a positive integer or the data does not match it.
 *
 * @example A 2x1 picture round-trips through imagescript's decoder
 * ```ts
 * import { Image } from "imagescript";
 * import { encodePng } from "@x/ddpm";
 * const png = await encodePng({
 *   width: 2, height: 1, data: new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255]),
 * });
 * const decoded = await Image.decode(png);
 * if (decoded.getPixelAt(2, 1) !== 0x0000ffff) throw new Error("lost the blue pixel");
 * ```
 */
export async function encodePng(image: RgbaImage): Promise<Uint8Array> {
  const { width, height, data } = image;
  for (const [name, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 2 ** 24) {
      throw new RangeError(
        `Cannot encode PNG: ${name} must be an integer in [1, 2^24], got ${v}`,
      );
    }
  }
  if (data.length !== width * height * 4) {
    throw new RangeError(
      `Cannot encode PNG: ${width}x${height} RGBA needs ${
        width * height * 4
      } bytes, got ${data.length}`,
    );
  }
  let opaque = true;
  for (let i = 3; i < data.length; i += 4) {
    if (data[i] !== 255) {
      opaque = false;
      break;
    }
  }
  const channels = opaque ? 3 : 4;
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bits per sample
  header[9] = opaque ? 2 : 6; // colour type: truecolour, or truecolour with alpha
  // Bytes 10-12: deflate, adaptive filtering, no interlace (all zero).
  const filtered = filterRows(data, width, height, channels);
  const compressed = await _deflate(filtered);
  return concat([
    new Uint8Array(SIGNATURE),
    chunk("IHDR", header),
    chunk("IDAT", compressed),
    chunk("IEND", new Uint8Array(0)),
  ]);
}

/** Each row prefixed by its filter type (0-4), chosen by the minimum sum of |residual|. */
function filterRows(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: 3 | 4,
): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(height * (stride + 1));
  let prev = new Uint8Array(stride);
  let row = new Uint8Array(stride);
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) row[x * channels + c] = rgba[(y * width + x) * 4 + c];
    }
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < 5; f++) {
      const cand = candidates[f];
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? row[i - channels] : 0;
        const b = prev[i];
        const c = i >= channels ? prev[i - channels] : 0;
        const predicted = f === 0
          ? 0
          : f === 1
          ? a
          : f === 2
          ? b
          : f === 3
          ? (a + b) >> 1
          : paeth(a, b, c);
        const r = (row[i] - predicted) & 0xff;
        cand[i] = r;
        cost += r < 128 ? r : 256 - r;
      }
      if (cost < bestCost) {
        bestCost = cost;
        best = f;
      }
    }
    const o = y * (stride + 1);
    out[o] = best;
    out.set(candidates[best], o + 1);
    [prev, row] = [row, prev];
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** zlib-wrapped deflate, as PNG's IDAT requires ("deflate" in the Compression Streams spec). */
async function _deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, _crc32(out.subarray(4, 8 + body.length)));
  return out;
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
