// Samples 16 images from the tiny preset with 25 DDIM steps and writes a grid and a GIF.
// Uses the run that `deno task train` wrote to runs/tiny if there is one, else a fresh
// (untrained) model, which shows the pipeline in a few seconds but draws only noise.
//
// Run: deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi examples/sample_tiny.ts
import {
  createUNet,
  DDIMScheduler,
  loadRun,
  presets,
  sample,
  saveGif,
  saveGrid,
  setBackend,
} from "../mod.ts";
import { imagesToGrid } from "../src/images/mod.ts";

await setBackend("wasm");
const run = await loadRun("runs/tiny").catch(() => undefined);
const unet = run?.unet ?? createUNet("tiny", { seed: 0 });
console.log(run ? `loaded ${run.checkpoint}` : "no runs/tiny yet: sampling an untrained model");

const frames: Uint8Array[] = [];
const started = performance.now();
const images = await sample({
  unet,
  scheduler: new DDIMScheduler(run?.config.scheduler ?? presets.tiny.scheduler),
  batchSize: 16,
  numInferenceSteps: 25,
  seed: 1,
  onStep: async ({ step, predOriginalSample }) => {
    if (step % 5 === 4) frames.push(await imagesToGrid(predOriginalSample, { cols: 4 }));
  },
});
console.log(`sampled 16 images in ${((performance.now() - started) / 1000).toFixed(1)} s`);
await saveGrid(images, "tiny_samples.png", { cols: 4 });
await saveGif(frames, "tiny_reverse.gif");
console.log("wrote tiny_samples.png and tiny_reverse.gif");
images.dispose();
unet.dispose();
