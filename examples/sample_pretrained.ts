// Samples Google's CIFAR10 DDPM (Ho et al. 2020, FID 3.17), as published on the Hugging Face
// hub, with 50 DDIM steps instead of the paper's 1000.
//
// 1. Download the model once (about 140 MB; the .bin copy is not needed):
//      pip install -U huggingface_hub
//      huggingface-cli download google/ddpm-cifar10-32 --include "*.json" "*.safetensors" \
//        --local-dir ddpm-cifar10-32
//    or, with Git LFS installed:
//      git clone https://huggingface.co/google/ddpm-cifar10-32
//    Any other diffusers UNet2DModel folder of the paper's architecture works the same way,
//    e.g. google/ddpm-ema-church-256 (a pickled .bin, read without Python, and much slower).
// 2. Run:
//      deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi \
//        examples/sample_pretrained.ts ddpm-cifar10-32
//    --allow-read: the model folder and the WebAssembly backend; --allow-write: the PNG;
//    --allow-env and --allow-sys: TensorFlow.js inspects its environment; --allow-ffi: only for
//    the native tfjs-node backend, when installed.
// The same from the command line: deno task sample --pretrained ddpm-cifar10-32
import { DDIMScheduler, loadPretrained, sample, saveGrid, setBackend } from "../mod.ts";

const dir = Deno.args[0] ?? "ddpm-cifar10-32";
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
