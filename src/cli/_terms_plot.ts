// The per-timestep terms of the variational bound as a PNG: bits/dim on a log scale against t.
import { _writeFileAtomic } from "../io/_atomic_write.ts";
import { Image } from "imagescript";

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
  const image = new Image(width, height);
  image.fill(0xffffffff);
  const points: [number, number][] = [];
  terms.forEach((v, t) => v > 0 && Number.isFinite(v) && points.push([t, Math.log10(v)]));
  if (points.length >= 1) {
    const pad = 12;
    const logs = points.map((p) => p[1]);
    const lo = Math.min(...logs), hi = Math.max(...logs);
    const x = (t: number) => pad + (t / Math.max(1, terms.length - 1)) * (width - 2 * pad);
    const y = (l: number) =>
      height - pad - ((l - lo) / Math.max(1e-9, hi - lo)) * (height - 2 * pad);
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
      _line(image, pad, y(d), width - pad, y(d), 0xddddddff);
    }
    for (let i = 1; i < points.length; i++) {
      const [t0, l0] = points[i - 1], [t1, l1] = points[i];
      _line(image, x(t0), y(l0), x(t1), y(l1), 0x1f5fbfff);
    }
    if (points[0][0] === 0) {
      const cx = x(0), cy = y(points[0][1]);
      for (let d = -2; d <= 2; d++) _line(image, cx - 2, cy + d, cx + 2, cy + d, 0xd03030ff);
    }
  }
  await _writeFileAtomic(path, await image.encode());
}

function _line(image: Image, x0: number, y0: number, x1: number, y1: number, color: number) {
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
