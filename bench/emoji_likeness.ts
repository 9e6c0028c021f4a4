// How close samples come to real emoji: for each PNG in the folders given (written by
// `deno task sample --out-dir DIR`), the RMS pixel distance (0-255) to its nearest image among the
// 212 training emoji of `emoji:faces` or their mirror images. A model that draws colour blobs
// scores 60-90; one whose samples are clean emoji, under 30. Lower is closer; it also rewards
// copying, so read it beside the grid, never alone.
//
//   deno task sample --checkpoint runs/tiny --n 64 --out-dir /tmp/a
//   deno run -P=bench bench/emoji_likeness.ts /tmp/a [/tmp/b ...]
import { loadEmoji } from "../src/data/emoji_dataset.ts";
import { decodePng } from "../src/images/png_decode.ts";

const RESOLUTION = 32;
const PIXELS = RESOLUTION * RESOLUTION;

/** RGB bytes of a PNG at 32x32, alpha composited on white as the dataset's loader does. */
async function readSample(path: string): Promise<Uint8Array> {
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
async function references(): Promise<Uint8Array[]> {
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

function nearestRms(sample: Uint8Array, refs: Uint8Array[]): number {
  let best = Infinity;
  for (const ref of refs) {
    let sum = 0;
    for (let i = 0; i < sample.length; i++) sum += (sample[i] - ref[i]) ** 2;
    best = Math.min(best, sum);
  }
  return Math.sqrt(best / sample.length);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

if (Deno.args.length === 0) {
  console.error("usage: emoji_likeness.ts DIR [DIR ...]  (folders of 32x32 PNG samples)");
  Deno.exit(2);
}
const refs = await references();
console.log("| samples | n | mean | 25% | median | 75% |");
console.log("|---|---|---|---|---|---|");
for (const dir of Deno.args) {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".png"));
  const d: number[] = [];
  for (const name of names.sort()) d.push(nearestRms(await readSample(`${dir}/${name}`), refs));
  d.sort((a, b) => a - b);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const f = (x: number) => x.toFixed(1);
  console.log(
    `| ${dir} | ${d.length} | ${f(mean)} | ${f(quantile(d, 0.25))} | ${f(quantile(d, 0.5))} | ${
      f(quantile(d, 0.75))
    } |`,
  );
}
