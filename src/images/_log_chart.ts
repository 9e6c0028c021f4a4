// A line chart on a log scale as PNG bytes: the loss curve of a run and the NLL's terms per
// timestep are both drawn by it.
import { encodePng } from "./png_encode.ts";

/** One line of the chart: points as [x, log10(y)], joined in order. */
export interface _ChartLine {
  points: readonly (readonly [number, number])[];
  /** RGBA, e.g. 0x1f5fbfff. */
  color: number;
}

/** What {@linkcode _logChartPng} draws. */
export interface _LogChart {
  width: number;
  height: number;
  /** The x values at the left and right edges of the plot area. */
  xRange: readonly [number, number];
  lines: readonly _ChartLine[];
  /** Points drawn as 5x5 squares, [x, log10(y)], after the lines. */
  dots?: readonly { at: readonly [number, number]; color: number }[];
}

const PAD = 12;
const GRID = 0xddddddff;

/**
 * Draws the lines on white, with a grey grid line at each power of ten within the range of
 * their log10 values (the y axis spans exactly that range), and encodes the picture as PNG.
 */
export async function _logChartPng(chart: _LogChart): Promise<Uint8Array> {
  const { width, height } = chart;
  const image = { width, height, data: new Uint8Array(width * height * 4).fill(255) };
  const logs = chart.lines.flatMap((l) => l.points.map((p) => p[1]));
  if (logs.length > 0) {
    const lo = Math.min(...logs), hi = Math.max(...logs);
    const [x0, x1] = chart.xRange;
    const x = (v: number) => PAD + ((v - x0) / Math.max(1, x1 - x0)) * (width - 2 * PAD);
    const y = (l: number) =>
      height - PAD - ((l - lo) / Math.max(1e-9, hi - lo)) * (height - 2 * PAD);
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      drawLine(image, [PAD, y(d)], [width - PAD, y(d)], GRID);
    }
    for (const { points, color } of chart.lines) {
      for (let i = 1; i < points.length; i++) {
        const [a, b] = [points[i - 1], points[i]];
        drawLine(image, [x(a[0]), y(a[1])], [x(b[0]), y(b[1])], color);
      }
    }
    for (const { at, color } of chart.dots ?? []) {
      const cx = x(at[0]), cy = y(at[1]);
      for (let d = -2; d <= 2; d++) drawLine(image, [cx - 2, cy + d], [cx + 2, cy + d], color);
    }
  }
  return await encodePng(image);
}

/** Sets the pixels along the segment from `a` to `b` (clipped to the image). */
function drawLine(
  image: { width: number; height: number; data: Uint8Array },
  a: [number, number],
  b: [number, number],
  color: number,
): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1]))));
  for (let i = 0; i <= steps; i++) {
    const px = Math.round(a[0] + ((b[0] - a[0]) * i) / steps);
    const py = Math.round(a[1] + ((b[1] - a[1]) * i) / steps);
    if (px >= 0 && px < image.width && py >= 0 && py < image.height) {
      const o = (py * image.width + px) * 4;
      image.data[o] = color >>> 24;
      image.data[o + 1] = (color >>> 16) & 0xff;
      image.data[o + 2] = (color >>> 8) & 0xff;
      image.data[o + 3] = color & 0xff;
    }
  }
}
