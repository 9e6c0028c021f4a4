// Progressive generation, the paper's Figure 6: the model's prediction of x_0 at ten points
// of the reverse process, one row per sample, coarse shapes first and details last. Uses
// runs/tiny if `deno task train` wrote it, else an untrained tiny model (noise only).
// The same as `deno task sample --sampler ddpm --progressive progressive.png --frame-count 10`.
// About 5 minutes on 2 cores (1000 steps).
//
// Run: deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi examples/progressive.ts
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDPMScheduler,
  loadRun,
  presets,
  sample,
  saveGrid,
  setBackend,
} from "../mod.ts";

await setBackend("wasm");
const run = await loadRun("runs/tiny").catch(() => undefined);
const unet = run?.unet ?? createUNet("tiny", { seed: 0 });
console.log(run ? `loaded ${run.checkpoint}` : "no runs/tiny yet: sampling an untrained model");

// Ancestral sampling over all T = 1000 steps, as in the paper; record every 111th step.
const columns = 10, steps = 1000, n = 4;
const recorded: tf.Tensor4D[] = [];
const images = await sample({
  unet,
  scheduler: new DDPMScheduler(run?.config.scheduler ?? presets.tiny.scheduler),
  batchSize: n,
  seed: 3,
  onStep: ({ step, predOriginalSample }) => {
    if (step % Math.floor((steps - 1) / (columns - 1)) === 0 || step === steps - 1) {
      recorded.push(predOriginalSample.clone());
    }
  },
});
// Rows = samples, columns = steps.
const grid = tf.tidy(() =>
  tf.stack(recorded, 1).reshape([n * recorded.length, ...images.shape.slice(1)]) as tf.Tensor4D
);
await saveGrid(grid, "progressive.png", { cols: recorded.length });
console.log(`wrote progressive.png (${n} samples x ${recorded.length} steps)`);
tf.dispose([grid, images, ...recorded]);
unet.dispose();
