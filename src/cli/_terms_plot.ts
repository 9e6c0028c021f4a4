// The per-timestep terms of the variational bound as a PNG: bits/dim on a log scale against t.
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { _logChartPng } from "../images/_log_chart.ts";

/**
 * Draws the evaluated terms (NaN entries are skipped) as a line on a log scale, with the
 * decoder term L_0 as a red dot and grey grid lines at each power of ten, and writes a PNG.
 */
export async function saveTermsPlot(
  path: string,
  terms: Float64Array,
  opts: { width?: number; height?: number } = {},
): Promise<void> {
  const { width = 480, height = 240 } = opts;
  const points: [number, number][] = [];
  terms.forEach((v, t) => v > 0 && Number.isFinite(v) && points.push([t, Math.log10(v)]));
  const png = await _logChartPng({
    width,
    height,
    xRange: [0, terms.length - 1],
    lines: [{ points, color: 0x1f5fbfff }],
    dots: points[0]?.[0] === 0 ? [{ at: points[0], color: 0xd03030ff }] : [],
  });
  await _writeFileAtomic(path, png);
}
