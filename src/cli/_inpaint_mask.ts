// The inpainting mask must frame the same picture as the image and leave something to fill:
// a mask of another size would be cropped and scaled onto the image out of register, and a
// mask with no black pixel (or a fully transparent one, composited on white) fills nothing.
import { _decodeRgba } from "../images/_decode_rgba.ts";
import { decodeImageRgb8 } from "../images/image.ts";
import { CliError } from "./_cli.ts";

/** A decoded file and the flag that named it. */
export interface MaskInput {
  flag: string;
  path: string;
  bytes: Uint8Array;
}

/**
 * Reads the mask at `resolution`: 1 where known (white), 0 where to fill (black). Refuses a
 * mask whose size differs from the image's, and one with nothing to fill.
 */
export async function readMask(
  image: MaskInput,
  mask: MaskInput,
  resolution: number,
): Promise<Float32Array> {
  const a = await _decodeRgba(image.bytes, image.path);
  const m = await _decodeRgba(mask.bytes, mask.path);
  if (a.width !== m.width || a.height !== m.height) {
    throw new CliError(
      `--${mask.flag} ${mask.path} is ${m.width}x${m.height} pixels but --${image.flag} ` +
        `${image.path} is ${a.width}x${a.height}: the mask must have the image's size`,
    );
  }
  const rgb = await decodeImageRgb8(mask.bytes, { resolution, name: mask.path });
  const known = new Float32Array(resolution * resolution);
  let holes = 0;
  for (let i = 0; i < known.length; i++) {
    known[i] = rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2] >= 3 * 128 ? 1 : 0;
    holes += 1 - known[i];
  }
  if (holes === 0) {
    let opaque = false;
    for (let i = 3; i < m.data.length && !opaque; i += 4) opaque = m.data[i] > 0;
    throw new CliError(
      `--${mask.flag} ${mask.path} ${
        opaque ? `marks no pixel to fill at ${resolution}x${resolution}` : "is fully transparent"
      }: nothing to inpaint; paint the part to fill opaque black (white = known)`,
    );
  }
  return known;
}
