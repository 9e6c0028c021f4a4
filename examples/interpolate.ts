// Interpolation in latent space, the paper's Figure 8: two training images diffused to step
// t with the same noise, mixed with lambda from 0 to 1 and denoised. Small t keeps the
// sources' details; large t gives new images. Uses runs/tiny and its data if `deno task train`
// wrote them, else an untrained model on the emoji (noise only). About 3 minutes on 2 cores.
//
// Run: deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi examples/interpolate.ts
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDPMScheduler,
  interpolate,
  loadDataset,
  loadRun,
  presets,
  saveGrid,
  setBackend,
} from "../mod.ts";

await setBackend("wasm");
const run = await loadRun("runs/tiny").catch(() => undefined);
const unet = run?.unet ?? createUNet("tiny", { seed: 0 });
console.log(run ? `loaded ${run.checkpoint}` : "no runs/tiny yet: using an untrained model");

const data = await loadDataset(run?.config.data ?? "emoji", { resolution: 32 });
const a = data.getBatch([0]), b = data.getBatch([1]);
const row = await interpolate({
  unet,
  scheduler: new DDPMScheduler(run?.config.scheduler ?? presets.tiny.scheduler),
  a,
  b,
  t: 250,
  lambdas: 9,
  seed: 1,
});
// As in Figure 8: the sources at both ends, the interpolations in between.
const figure = tf.concat([a, row, b]) as tf.Tensor4D;
await saveGrid(figure, "interpolation.png", { cols: 11 });
console.log("wrote interpolation.png (a, 9 interpolations at t = 250, b)");
tf.dispose([a, b, row, figure]);
unet.dispose();
