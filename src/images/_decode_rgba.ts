// Decoding a PNG or JPEG into RGBA with its declared size checked first: the part of image
// decoding shared by the training images and the FID image sources.
import { FormatError, LimitError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";
import { _imageSize } from "./_image_size.ts";
import { _imagescript } from "./_imagescript.ts";
import { decodePng, MAX_IMAGE_PIXELS } from "./png_decode.ts";
import type { RgbaImage } from "./png_encode.ts";

export { MAX_IMAGE_PIXELS };

/**
 * Decodes a PNG or JPEG into RGBA, refusing other formats, corrupt files and images over
 * {@linkcode MAX_IMAGE_PIXELS} with errors that name the file. PNGs decode in TypeScript
 * (`png_decode.ts`); JPEGs load imagescript on first use, whose module opens a native codec
 * and so needs `--allow-ffi` (its JPEG decoder itself is WebAssembly).
 */
export async function _decodeRgba(bytes: Uint8Array, name: string): Promise<RgbaImage> {
  const shown = _showName(name);
  const type = _checkImageType(bytes, name);
  const size = _imageSize(bytes, type);
  // What the probe cannot size is not decoded: the decoder would size it without the cap.
  if (!size || size.width === 0 || size.height === 0) {
    throw new FormatError(
      `Cannot decode ${shown}: the ${type.toUpperCase()} has ${
        size ? `a frame of ${size.width} x ${size.height} pixels` : "no frame header (size)"
      }; it is truncated or corrupt`,
    );
  }
  if (size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new LimitError(
      `Cannot decode ${shown}: it declares ${size.width} x ${size.height} pixels, over the cap ` +
        `of ${MAX_IMAGE_PIXELS} (4096 x 4096); shrink it first`,
    );
  }
  if (type === "png") return await decodePng(bytes, { name: shown });
  const { Image } = await _imagescript();
  let image: { width: number; height: number; bitmap: Uint8ClampedArray };
  try {
    image = await Image.decode(bytes);
  } catch (err) {
    throw new FormatError(
      `Cannot decode ${shown}: the ${type.toUpperCase()} is corrupt or truncated (${
        err instanceof Error ? err.message : String(err)
      })`,
      { cause: err },
    );
  }
  if (!(image.width > 0 && image.height > 0)) {
    throw new FormatError(`Cannot decode ${shown}: the ${type.toUpperCase()} has no pixels`);
  }
  return { width: image.width, height: image.height, data: image.bitmap };
}

/** The formats a magic number identifies, for the error that names what a file is. */
function _imageType(b: Uint8Array): "png" | "jpeg" | "gif" | "tiff" | undefined {
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "gif";
  if (
    (b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) ||
    (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a)
  ) {
    return "tiff";
  }
  return undefined;
}

/**
 * The type of an image file from its first bytes (at least 8 of them), or a FormatError naming
 * the file when it is not a PNG or JPEG. Enough of a file to call this on is its first 16 bytes.
 */
export function _checkImageType(head: Uint8Array, name: string): "png" | "jpeg" {
  const type = head.length >= 8 ? _imageType(head) : undefined;
  if (type !== "png" && type !== "jpeg") {
    throw new FormatError(
      `Cannot decode ${_showName(name)}: it is ${
        type ? `a ${type.toUpperCase()}` : "not an image"
      }; only PNG and JPEG files are supported`,
    );
  }
  return type;
}
