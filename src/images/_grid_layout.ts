// Grid layout shared by the PNG grid, the GIF writer and the browser's canvases: pure bytes.
import type { _Rgb8Batch } from "./_pixels.ts";
import type { RgbaImage } from "./png_encode.ts";

/** Layout of a grid of images (`gridPixels`, `imagesToGrid`, `saveGrid`). */
export interface GridOptions {
  /** Images per row. Default: `ceil(sqrt(N))`. */
  cols?: number;
  /** Pixels between neighbouring images (none around the border). Default: `2`. */
  gap?: number;
  /** RGB bytes of the gaps and of empty cells in the last row. Default: `[0, 0, 0]`. */
  background?: readonly [number, number, number];
}

/** Lays out a batch of bytes as one RGBA picture, rows x cols with gaps. */
export function _layoutGrid(batch: _Rgb8Batch, opts: GridOptions): RgbaImage {
  const { n, height: h, width: w, data } = batch;
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const gap = opts.gap ?? 2;
  const background = opts.background ?? [0, 0, 0];
  if (!Number.isInteger(cols) || cols < 1) {
    throw new RangeError(`Cannot lay out a grid: cols must be a positive integer, got ${cols}`);
  }
  if (!Number.isInteger(gap) || gap < 0) {
    throw new RangeError(`Cannot lay out a grid: gap must be an integer >= 0, got ${gap}`);
  }
  if (background.length !== 3 || background.some((v) => !(v >= 0 && v <= 255))) {
    throw new RangeError(
      `Cannot lay out a grid: background must be three bytes in [0, 255], got [${background}]`,
    );
  }
  const used = Math.min(cols, n);
  const rows = Math.ceil(n / cols);
  const width = used * w + (used - 1) * gap;
  const height = rows * h + (rows - 1) * gap;
  const px = new Uint8Array(width * height * 4);
  const [br, bg, bb] = background.map((v) => Math.round(v));
  for (let p = 0; p < px.length; p += 4) {
    px[p] = br;
    px[p + 1] = bg;
    px[p + 2] = bb;
    px[p + 3] = 255;
  }
  for (let i = 0; i < n; i++) {
    const ox = (i % cols) * (w + gap);
    const oy = Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = ((i * h + y) * w + x) * 3;
        const d = ((oy + y) * width + ox + x) * 4;
        px[d] = data[s];
        px[d + 1] = data[s + 1];
        px[d + 2] = data[s + 2];
      }
    }
  }
  return { width, height, data: px };
}
