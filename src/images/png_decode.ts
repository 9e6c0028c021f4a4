/**
 * PNG decoding in TypeScript with web-standard APIs only (`DecompressionStream`): every colour
 * type and bit depth, palettes with transparency, Adam7 interlacing. No native code, so reading
 * PNG datasets needs no FFI, and it runs the same in browsers.
 *
 * @example
 * ```ts
 * import { decodePng, encodePng } from "@x/ddpm/images";
 * const png = await encodePng({ width: 1, height: 1, data: new Uint8Array([9, 8, 7, 6]) });
 * const { width, data } = await decodePng(png);
 * if (width !== 1 || data.join() !== "9,8,7,6") throw new Error(data.join());
 * ```
 *
 * @module
 */
import { FormatError, LimitError } from "../errors.ts";
import { _crc32 } from "./_crc32.ts";
import { _inflateExact } from "./_inflate.ts";
import { _CHANNELS, _inflatedSize, type _PngHeader, _pngToRgba } from "./_png_pixels.ts";
import type { RgbaImage } from "./png_encode.ts";

/**
 * The most pixels an image file may declare (4096 x 4096): decoding one costs about 28 bytes
 * per pixel at its peak (the decoder's planes, the RGBA bitmap, the float crop that is
 * resized), 0.48 GB at this cap as measured, so a 750 KB JPEG declaring 8000 x 8000 pixels
 * would cost nearly 2 GB. The size is read from the header, skipping what decoders skip, and
 * larger images (or JPEGs whose size cannot be found) are refused with a {@linkcode LimitError}
 * (a FormatError) before decoding; shrink them first.
 *
 * @example
 * ```ts
 * import { MAX_IMAGE_PIXELS } from "@x/ddpm";
 * if (MAX_IMAGE_PIXELS !== 4096 * 4096) throw new Error(String(MAX_IMAGE_PIXELS));
 * ```
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

/** Options of {@linkcode decodePng}. */
export interface DecodePngOptions {
  /** Name of the file in error messages. Default: `"PNG"`. */
  name?: string;
  /** The most pixels the image may declare. Default: 4096 x 4096 (`MAX_IMAGE_PIXELS`). */
  maxPixels?: number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The bit depths each colour type allows (PNG specification, table 11.1). */
const DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/**
 * Decodes a PNG file into 8-bit RGBA. 16-bit samples keep their high byte; grey of 1, 2 or 4
 * bits is scaled to 0-255; palette and tRNS transparency become alpha. Every chunk's CRC is
 * checked, and the declared size against `maxPixels` before anything is allocated for it.
 * Ancillary chunks (gamma, colour profiles, text) are skipped.
 *
 * @param bytes The PNG file.
 * @param opts The file's name for errors, and the pixel cap.
 * @returns The picture: `width * height * 4` bytes, row-major.
 * @throws {FormatError} If the bytes are not a valid PNG (the message says what is wrong).
 * @throws {LimitError} If the PNG declares more than `maxPixels` pixels.
 *
 * @example A half-transparent red pixel and an opaque blue one
 * ```ts
 * import { decodePng, encodePng } from "@x/ddpm/images";
 * const pixels = new Uint8Array([255, 0, 0, 128, 0, 0, 255, 255]);
 * const png = await encodePng({ width: 2, height: 1, data: pixels });
 * const image = await decodePng(png, { name: "two.png" });
 * if (image.width !== 2 || image.data.join() !== pixels.join()) throw new Error();
 * ```
 */
export async function decodePng(
  bytes: Uint8Array,
  opts: DecodePngOptions = {},
): Promise<RgbaImage> {
  const { name = "PNG", maxPixels = MAX_IMAGE_PIXELS } = opts;
  const fail = (why: string) => new FormatError(`Cannot decode ${name}: ${why}`);
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`Cannot decode ${name}: expected bytes`);
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw fail("it is not a PNG (no PNG signature)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: _PngHeader | undefined;
  const idat: Uint8Array[] = [];
  let idatEnded = false;
  let ended = false;
  for (let p = 8; !ended;) {
    if (p + 12 > bytes.length) throw fail("it is corrupt or truncated (no IEND chunk)");
    const length = view.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (length > 2 ** 31 - 1 || p + 12 + length > bytes.length) {
      throw fail(`it is corrupt or truncated (the ${type} chunk declares ${length} bytes)`);
    }
    if (_crc32(bytes.subarray(p + 4, p + 8 + length)) !== view.getUint32(p + 8 + length)) {
      throw fail(`the ${type} chunk's CRC does not match: the file is corrupt`);
    }
    const body = bytes.subarray(p + 8, p + 8 + length);
    p += 12 + length;
    if (!header && type !== "IHDR") throw fail(`it starts with ${type}, not IHDR`);
    if (idat.length > 0 && type !== "IDAT") idatEnded = true;
    switch (type) {
      case "IHDR":
        if (header) throw fail("it has two IHDR chunks");
        header = readHeader(body, fail);
        checkSize(header, maxPixels, name);
        break;
      case "PLTE":
        if (length === 0 || length % 3 !== 0 || length > 768) {
          throw fail(`its palette has ${length} bytes, not 3 per entry for 1 to 256 entries`);
        }
        header!.palette = body;
        break;
      case "tRNS":
        header!.transparency = body;
        break;
      case "IDAT":
        if (idatEnded) throw fail("its IDAT chunks are not consecutive");
        idat.push(body);
        break;
      case "IEND":
        ended = true;
        break;
      default:
        // Bit 5 of the first letter: lower case = ancillary, safe to skip.
        if (!(type.charCodeAt(0) & 0x20)) {
          throw fail(`it has an unknown critical chunk ${JSON.stringify(type)}`);
        }
    }
  }
  const h = header!;
  if (h.colorType === 3 && !h.palette) throw fail("it is a palette image without a PLTE chunk");
  if (idat.length === 0) throw fail("it has no image data (no IDAT chunk)");
  const data = await _inflateExact(idat, _inflatedSize(h));
  if (typeof data === "string") throw fail(data);
  const rgba = _pngToRgba(h, data);
  if (typeof rgba === "string") throw fail(rgba);
  return { width: h.width, height: h.height, data: rgba };
}

function readHeader(body: Uint8Array, fail: (why: string) => Error): _PngHeader {
  if (body.length !== 13) throw fail(`its IHDR chunk has ${body.length} bytes, not 13`);
  const v = new DataView(body.buffer, body.byteOffset, 13);
  const [bitDepth, colorType, compression, filter, interlace] = body.subarray(8);
  const width = v.getUint32(0), height = v.getUint32(4);
  if (width === 0 || height === 0 || width > 2 ** 31 - 1 || height > 2 ** 31 - 1) {
    throw fail(`it declares ${width} x ${height} pixels`);
  }
  if (!(colorType in _CHANNELS)) throw fail(`unknown colour type ${colorType}`);
  if (!DEPTHS[colorType].includes(bitDepth)) {
    throw fail(`colour type ${colorType} cannot have ${bitDepth}-bit samples`);
  }
  if (compression !== 0 || filter !== 0 || interlace > 1) {
    throw fail(
      `unknown compression (${compression}), filter (${filter}) or interlace (${interlace}) method`,
    );
  }
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

function checkSize(h: _PngHeader, maxPixels: number, name: string): void {
  if (h.width * h.height > maxPixels) {
    throw new LimitError(
      `Cannot decode ${name}: it declares ${h.width} x ${h.height} pixels, over the cap of ` +
        `${maxPixels}; shrink it first`,
    );
  }
}
