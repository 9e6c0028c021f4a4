/**
 * A loss curve as a PNG, so that a run folder can be checked at a glance.
 *
 * @module
 */
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { _logChartPng } from "../images/_log_chart.ts";

/**
 * Draws loss against step on a log scale (raw values in light grey, a moving average in blue)
 * and writes it as a PNG.
 *
 * @param path The PNG file to write.
 * @param points Finite losses by step.
 * @param opts Size of the image in pixels.
 *
 * @example
 * ```ts
 * import { saveLossPlot } from "@x/ddpm/train";
 * const dir = await Deno.makeTempDir();
 * await saveLossPlot(`${dir}/loss.png`, [{ step: 1, loss: 1 }, { step: 2, loss: 0.5 }]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveLossPlot(
  path: string,
  points: { step: number; loss: number }[],
  opts: { width?: number; height?: number } = {},
): Promise<void> {
  const { width = 480, height = 240 } = opts;
  const valid = points.filter((p) => p.loss > 0 && Number.isFinite(p.loss));
  const logs = valid.map((p) => Math.log10(p.loss));
  const window = Math.max(1, Math.round(valid.length / 50));
  let sum = 0;
  const smooth = logs.map((l, i) => {
    sum += l;
    if (i >= window) sum -= logs[i - window];
    return sum / Math.min(i + 1, window);
  });
  const line = (ys: number[], color: number) => ({
    points: valid.length >= 2 ? valid.map((p, i) => [p.step, ys[i]] as const) : [],
    color,
  });
  const png = await _logChartPng({
    width,
    height,
    xRange: [valid[0]?.step ?? 0, valid.at(-1)?.step ?? 0],
    lines: [line(logs, 0xbbbbbbff), line(smooth, 0x1f5fbfff)],
  });
  await _writeFileAtomic(path, png);
}
