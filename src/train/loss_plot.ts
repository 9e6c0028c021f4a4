/**
 * A loss curve as a PNG, drawn with imagescript so that a run folder can be checked at a glance.
 *
 * @module
 */
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { Image } from "imagescript";

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
 * import { saveLossPlot } from "@x/ddpm";
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
  const image = new Image(width, height);
  image.fill(0xffffffff);
  const valid = points.filter((p) => p.loss > 0 && Number.isFinite(p.loss));
  if (valid.length >= 2) {
    const pad = 12;
    const logs = valid.map((p) => Math.log10(p.loss));
    const lo = Math.min(...logs), hi = Math.max(...logs);
    const s0 = valid[0].step, s1 = valid[valid.length - 1].step;
    const x = (s: number) => pad + ((s - s0) / Math.max(1, s1 - s0)) * (width - 2 * pad);
    const y = (l: number) =>
      height - pad - ((l - lo) / Math.max(1e-9, hi - lo)) * (height - 2 * pad);
    // Grid lines at each power of ten within range.
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      drawLine(image, pad, y(d), width - pad, y(d), 0xddddddff);
    }
    const window = Math.max(1, Math.round(valid.length / 50));
    let sum = 0;
    const smooth: number[] = [];
    for (let i = 0; i < logs.length; i++) {
      sum += logs[i];
      if (i >= window) sum -= logs[i - window];
      smooth.push(sum / Math.min(i + 1, window));
    }
    for (let i = 1; i < valid.length; i++) {
      drawLine(
        image,
        x(valid[i - 1].step),
        y(logs[i - 1]),
        x(valid[i].step),
        y(logs[i]),
        0xbbbbbbff,
      );
    }
    for (let i = 1; i < valid.length; i++) {
      drawLine(
        image,
        x(valid[i - 1].step),
        y(smooth[i - 1]),
        x(valid[i].step),
        y(smooth[i]),
        0x1f5fbfff,
      );
    }
  }
  await _writeFileAtomic(path, await image.encode());
}

function drawLine(
  image: Image,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  color: number,
): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= steps; i++) {
    const px = Math.round(x0 + ((x1 - x0) * i) / steps);
    const py = Math.round(y0 + ((y1 - y0) * i) / steps);
    // imagescript pixels are 1-based.
    if (px >= 0 && px < image.width && py >= 0 && py < image.height) {
      image.setPixelAt(px + 1, py + 1, color);
    }
  }
}
