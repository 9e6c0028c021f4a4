// Inpainting with an unconditional model (RePaint): the right half of a training image is
// hidden and refilled four times by the reverse process, the left half re-noised to every
// step's level and kept exactly. Uses runs/tiny and its data if `deno task train` wrote them,
// else an untrained model on the emoji (the hole fills with noise).
//
// Run: deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi examples/inpaint.ts
import * as tf from "@tensorflow/tfjs";
import {
  createUNet,
  DDIMScheduler,
  inpaint,
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
const image = tf.tile(data.getBatch([2]), [4, 1, 1, 1]) as tf.Tensor4D;
// 1 = known (left half), 0 = to fill.
const mask = tf.concat([tf.ones([32, 16]), tf.zeros([32, 16])], 1);
const filled = await inpaint({
  unet,
  scheduler: new DDIMScheduler(run?.config.scheduler ?? presets.tiny.scheduler),
  image,
  mask,
  numInferenceSteps: 50,
  resampleSteps: 3,
  seed: 1,
});
const holed = tf.tidy(() => image.slice([0], [1]).mul(mask.reshape([1, 32, 32, 1])));
const figure = tf.concat([holed, filled]) as tf.Tensor4D;
await saveGrid(figure, "inpainted.png", { cols: 5 });
console.log("wrote inpainted.png (the input with its hole, then 4 completions)");
tf.dispose([image, mask, filled, holed, figure]);
unet.dispose();
