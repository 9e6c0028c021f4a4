// The grid picture as an imagescript Image, for the GIF writer.
import type { Image } from "imagescript";
import { _imagescript } from "./_imagescript.ts";
import { _layoutGrid } from "./_grid_layout.ts";
import type { _Rgb8Batch } from "./_pixels.ts";
import type { GridOptions } from "./grid_pixels.ts";

/** Builds the grid picture of a batch of bytes. */
export async function _gridImage(batch: _Rgb8Batch, opts: GridOptions): Promise<Image> {
  const { width, height, data } = _layoutGrid(batch, opts);
  const { Image } = await _imagescript();
  const image = new Image(width, height);
  image.bitmap.set(data);
  return image;
}
