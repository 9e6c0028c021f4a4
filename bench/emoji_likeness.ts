// How close samples come to real emoji: for each PNG in the folders given (written by
// `deno task sample --out-dir DIR`), the RMS pixel distance (0-255) to its nearest image among the
// 212 training emoji of `emoji:faces` or their mirror images. A model that draws colour blobs
// scores 60-90; one whose samples are clean emoji, under 30. Lower is closer; it also rewards
// copying, so read it beside the grid, never alone.
//
//   deno task sample --checkpoint runs/tiny --n 64 --out-dir /tmp/a
//   deno run -P=bench bench/emoji_likeness.ts /tmp/a [/tmp/b ...]
import { nearestRms, quantile, readSample, references } from "./_emoji_likeness.ts";

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
