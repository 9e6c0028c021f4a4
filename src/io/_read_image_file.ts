// Reading an image file for decoding, with its size and first bytes checked before the rest is
// read: a data folder may hold a sparse 3 GB "huge.png" that is only zeros.
import { LimitError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";
import { _checkImageType } from "../images/_decode_rgba.ts";

/**
 * The largest image file read (256 MiB): twice the largest PNG an image within the pixel cap
 * (4096 x 4096) can need, 16-bit RGBA stored uncompressed (128 MiB).
 */
export const _MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;

/**
 * Reads an image file whole, after checking that its size is within the cap and that its first
 * bytes are a PNG's or a JPEG's. Never reads more than the size the file had when opened.
 *
 * @throws {LimitError} when the file is larger than the cap; a FormatError when it does not
 *   start like a PNG or JPEG. Both name the file.
 */
export async function _readImageFile(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const { size } = await file.stat();
  if (size > _MAX_IMAGE_FILE_BYTES) {
    throw new LimitError(
      `Cannot decode ${_showName(path)}: it is ${size} bytes, over the cap of ` +
        `${_MAX_IMAGE_FILE_BYTES} bytes (256 MiB) for an image file; shrink it first`,
    );
  }
  const bytes = new Uint8Array(size);
  let filled = 0;
  const fill = async (upTo: number) => {
    while (filled < upTo) {
      const n = await file.read(bytes.subarray(filled, upTo));
      if (n === null) break;
      filled += n;
    }
  };
  await fill(Math.min(16, size));
  _checkImageType(bytes.subarray(0, filled), path);
  await fill(size);
  return filled === size ? bytes : bytes.subarray(0, filled);
}
