// What a user's program does with the library on wasm: import it, sample two images, write a
// PNG. tests/permissions_test.ts runs it without --allow-ffi: nothing native may load.
import {
  createUNet,
  DDIMScheduler,
  decodePng,
  presets,
  sample,
  saveGrid,
  setBackend,
} from "../mod.ts";

const out = Deno.args[0];
await setBackend("wasm");
const unet = createUNet({ ...presets.tiny.unet, resolution: 8 }, { seed: 0 });
const images = await sample({
  unet,
  scheduler: new DDIMScheduler(presets.tiny.scheduler),
  batchSize: 2,
  numInferenceSteps: 2,
  seed: 0,
});
await saveGrid(images, out, { cols: 2 });
const png = await decodePng(await Deno.readFile(out));
console.log(`wrote ${out}: ${png.width}x${png.height}`);
images.dispose();
unet.dispose();
