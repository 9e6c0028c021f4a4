// Nearest training emoji: the RMS pixel distance (0-255) from an image to the closest of the 212
// emoji of `emoji:faces` or their mirror images, as a plain function over bytes. Used by
// bench/emoji_likeness.ts and by the shipped model's test.
import { loadEmoji } from "../src/data/emoji_dataset.ts";
import { decodePng } from "../src/images/png_decode.ts";

/** Side of the images compared. */
export const RESOLUTION = 32;
const PIXELS = RESOLUTION * RESOLUTION;

/** RGB bytes of a PNG at 32x32, alpha composited on white as the dataset's loader does. */
export async function readSample(path: string): Promise<Uint8Array> {
  const { width, height, data } = await decodePng(await Deno.readFile(path), { name: path });
  if (width !== RESOLUTION || height !== RESOLUTION) {
    throw new Error(`${path} is ${width}x${height}; the emoji are ${RESOLUTION}x${RESOLUTION}`);
  }
  const rgb = new Uint8Array(PIXELS * 3);
  for (let p = 0; p < PIXELS; p++) {
    const a = data[p * 4 + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(data[p * 4 + c] * a + 255 * (1 - a));
  }
  return rgb;
}

/** The training images and their mirror images, each PIXELS * 3 bytes. */
export async function references(): Promise<Uint8Array[]> {
  const data = await loadEmoji({ resolution: RESOLUTION, subset: "faces" });
  const out: Uint8Array[] = [];
  const one = PIXELS * 3;
  for (let i = 0; i < data.size; i++) {
    const img = data.images.subarray(i * one, (i + 1) * one);
    const mirror = new Uint8Array(one);
    for (let y = 0; y < RESOLUTION; y++) {
      for (let x = 0; x < RESOLUTION; x++) {
        const from = (y * RESOLUTION + x) * 3;
        const to = (y * RESOLUTION + (RESOLUTION - 1 - x)) * 3;
        mirror.set(img.subarray(from, from + 3), to);
      }
    }
    out.push(img, mirror);
  }
  return out;
}

/** RMS distance (0-255) from `sample` to the closest of `refs`. */
export function nearestRms(sample: Uint8Array, refs: Uint8Array[]): number {
  let best = Infinity;
  for (const ref of refs) {
    let sum = 0;
    for (let i = 0; i < sample.length; i++) sum += (sample[i] - ref[i]) ** 2;
    best = Math.min(best, sum);
  }
  return Math.sqrt(best / sample.length);
}

export function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
