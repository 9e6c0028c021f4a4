// Decoding a PNG or JPEG into RGBA with its declared size checked first: the part of image
// decoding shared by the training images and the FID image sources.
import { Image, ImageType } from "imagescript";
import { FormatError, LimitError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";
import { _imageSize } from "./_image_size.ts";

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

/**
 * Decodes a PNG or JPEG into imagescript's RGBA image, refusing other formats, corrupt files
 * and images over {@linkcode MAX_IMAGE_PIXELS} with errors that name the file.
 */
export async function _decodeRgba(bytes: Uint8Array, name: string): Promise<Image> {
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
  let image: Image;
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
  return image;
}

/**
 * The type of an image file from its first bytes (at least 8 of them), or a FormatError naming
 * the file when it is not a PNG or JPEG. Enough of a file to call this on is its first 16 bytes.
 */
export function _checkImageType(head: Uint8Array, name: string): "png" | "jpeg" {
  const type = head.length >= 8 ? ImageType.getType(head) : null;
  if (type !== "png" && type !== "jpeg") {
    throw new FormatError(
      `Cannot decode ${_showName(name)}: it is ${
        type ? `a ${type.toUpperCase()}` : "not an image"
      }; only PNG and JPEG files are supported`,
    );
  }
  return type;
}
