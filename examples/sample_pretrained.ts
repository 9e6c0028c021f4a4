// Samples Google's CIFAR10 DDPM (Ho et al. 2020, FID 3.17), as published on the Hugging Face
// hub, with 50 DDIM steps instead of the paper's 1000.
//
// Run (the first time downloads about 140 MB into the Hugging Face cache, shared with Python):
//      deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi \
//        --allow-net=huggingface.co,hf.co,*.hf.co,*.huggingface.co \
//        examples/sample_pretrained.ts google/ddpm-cifar10-32
//    The argument may also be a diffusers folder (e.g. from `git clone
//    https://huggingface.co/google/ddpm-cifar10-32`), then no --allow-net is needed. Any other
//    diffusers UNet2DModel of the paper's architecture works the same way, e.g.
//    google/ddpm-ema-church-256 (a pickled .bin, read without Python, and much slower).
//    --allow-read and --allow-write: the model, the cache and the PNG; --allow-env: the cache's
//    and the hub's settings (HF_HUB_CACHE, HF_TOKEN, ...) and TensorFlow.js's checks, as
//    --allow-sys; --allow-net: the hub and the CDN it redirects large files to; --allow-ffi: only
//    for the native tfjs-node backend, when installed.
// The same from the command line: deno task sample --pretrained google/ddpm-cifar10-32
import { DDIMScheduler, loadPretrained, sample, saveGrid, setBackend } from "../mod.ts";

const dir = Deno.args[0] ?? "google/ddpm-cifar10-32";
const steps = Number(Deno.args[1] ?? 50);

await setBackend("auto");
const { unet, scheduler } = await loadPretrained(dir);
console.log(`loaded ${dir}: ${(unet.numParams() / 1e6).toFixed(1)}M parameters`);

const started = performance.now();
const images = await sample({
  unet,
  // DDIM on the schedule the model was trained with; eta 0 is deterministic.
  scheduler: new DDIMScheduler(scheduler.config),
  batchSize: 8,
  numInferenceSteps: steps,
  seed: 0,
  onStep: ({ step, numSteps }) => {
    if ((step + 1) % 10 === 0) console.log(`step ${step + 1}/${numSteps}`);
  },
});
console.log(`sampled 8 images in ${((performance.now() - started) / 1000).toFixed(0)} s`);
await saveGrid(images, "pretrained_samples.png", { cols: 4 });
console.log("wrote pretrained_samples.png");
images.dispose();
unet.dispose();
