/**
 * Decoding of PNG and JPEG files into square RGB training images.
 *
 * @module
 */
import { _decodeRgba } from "./_decode_rgba.ts";
import { _resizeRgb, _toBytes } from "./_resize.ts";

export { MAX_IMAGE_PIXELS } from "./png_decode.ts";

/** Options of {@linkcode decodeImage} and {@linkcode decodeImageRgb8}. */
export interface DecodeImageOptions {
  /** Side of the square output in pixels. */
  resolution: number;
  /** Name of the file, used in error messages. Default: `"image"`. */
  name?: string;
}

/**
 * Decodes a PNG or JPEG into a square RGB image of bytes: alpha composited on white, the
 * centred square of side min(width, height) cropped, then resized to `resolution` (area
 * averaging when shrinking, bilinear when enlarging). This equals resizing the shorter side to
 * `resolution` and centre-cropping, without rounding the longer side.
 *
 * @param bytes The encoded file.
 * @param opts The output resolution and the file's name for errors.
 * @returns `resolution * resolution * 3` bytes, row-major HWC.
 * @throws {FormatError} If the bytes are not a readable PNG or JPEG; the message names the file.
 * @throws {LimitError} If the image declares more than {@linkcode MAX_IMAGE_PIXELS} pixels.
 *
 * @example A half-transparent black pixel becomes grey on white
 * ```ts
 * import { Image } from "imagescript";
 * import { decodeImageRgb8 } from "@x/ddpm/images";
 * const img = new Image(1, 1);
 * img.bitmap.set([0, 0, 0, 51]);
 * const rgb = await decodeImageRgb8(await img.encode(), { resolution: 1 });
 * if (rgb.join() !== "204,204,204") throw new Error(rgb.join());
 * ```
 */
export async function decodeImageRgb8(
  bytes: Uint8Array,
  opts: DecodeImageOptions,
): Promise<Uint8Array> {
  const { resolution, name = "image" } = opts;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode ${name}: expected a Uint8Array of file bytes`);
  }
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(
      `Cannot decode ${name}: resolution must be a positive integer, current value is ${resolution}`,
    );
  }
  const image = await _decodeRgba(bytes, name);
  const { width, height } = image;
  const side = Math.min(width, height);
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  const rgba = image.data;
  const rgb = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const p = ((y + y0) * width + x + x0) * 4;
      const q = (y * side + x) * 3;
      const a = rgba[p + 3] / 255;
      // Composite before resizing so transparent pixels' hidden colours never bleed in.
      rgb[q] = a * rgba[p] + (1 - a) * 255;
      rgb[q + 1] = a * rgba[p + 1] + (1 - a) * 255;
      rgb[q + 2] = a * rgba[p + 2] + (1 - a) * 255;
    }
  }
  return _toBytes(_resizeRgb(rgb, side, side, resolution, resolution));
}

/**
 * Decodes a PNG or JPEG into a square RGB image in [-1, 1] (bytes / 127.5 - 1), prepared as
 * {@linkcode decodeImageRgb8} describes.
 *
 * @param bytes The encoded file.
 * @param opts The output resolution and the file's name for errors.
 * @returns `resolution * resolution * 3` floats, row-major HWC, ready for a `[1, r, r, 3]` tensor.
 * @throws {FormatError} If the bytes are not a readable PNG or JPEG; the message names the file.
 * @throws {LimitError} If the image declares more than {@linkcode MAX_IMAGE_PIXELS} pixels.
 *
 * @example A white 4x2 PNG becomes a 2x2 image of ones
 * ```ts
 * import { Image } from "imagescript";
 * import { decodeImage } from "@x/ddpm/images";
 * const png = await new Image(4, 2).fill(0xffffffff).encode();
 * const x = await decodeImage(png, { resolution: 2 });
 * if (x.length !== 12 || x.some((v) => v !== 1)) throw new Error(String(x));
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  opts: DecodeImageOptions,
): Promise<Float32Array> {
  const rgb = await decodeImageRgb8(bytes, opts);
  return Float32Array.from(rgb, (v) => v / 127.5 - 1);
}
