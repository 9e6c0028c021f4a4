// Trains the tiny preset on the built-in emoji images for a few minutes, then samples it.
// The same as `deno task train --steps 300`, written as a program.
//
// Run: deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi examples/train_emoji.ts
import { DDIMScheduler, loadRun, sample, saveGrid, setBackend, train } from "../mod.ts";

await setBackend("wasm");
const outDir = "runs/example-emoji";
const result = await train({
  outDir,
  preset: "tiny",
  data: "emoji",
  train: { steps: 300, sampleEvery: 100 },
  resume: true, // continue where a previous run of this example stopped
  onStep: (m) => {
    if (m.step % 25 === 0) console.log(`step ${m.step} loss ${m.loss.toFixed(4)}`);
  },
});
console.log(`trained to step ${result.step}, loss ${result.loss.toFixed(4)}`);

const { unet, config } = await loadRun(outDir);
const images = await sample({
  unet,
  scheduler: new DDIMScheduler(config.scheduler),
  batchSize: 16,
  numInferenceSteps: 50,
});
await saveGrid(images, `${outDir}/final.png`, { cols: 4 });
console.log(`wrote ${outDir}/final.png`);
