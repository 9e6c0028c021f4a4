// The paper's Table 1 measure on your own model: the variational bound on the negative
// log-likelihood in bits/dim, with its prior, KL and decoder terms. Uses runs/tiny and its
// training data if `deno task train` wrote them, else an untrained tiny model on the emoji.
// An estimate over 50 of the 1000 timesteps keeps it to about a minute on 2 CPU cores; drop
// `numTimesteps` for the exact bound (T forward passes per image).
//
// Run: deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi examples/nll.ts
import {
  createUNet,
  DDPMScheduler,
  evaluateNll,
  loadDataset,
  loadRun,
  presets,
  setBackend,
} from "../mod.ts";

await setBackend("wasm");
const run = await loadRun("runs/tiny").catch(() => undefined);
const unet = run?.unet ?? createUNet("tiny", { seed: 0 });
console.log(run ? `loaded ${run.checkpoint}` : "no runs/tiny yet: scoring an untrained model");

const data = await loadDataset(run?.config.data ?? "emoji", { resolution: 32 });
const images = data.getBatch([0, 1, 2, 3, 4, 5, 6, 7]);
const nll = await evaluateNll({
  unet,
  scheduler: new DDPMScheduler(run?.config.scheduler ?? presets.tiny.scheduler),
  images,
  batchSize: 40,
  numTimesteps: 50,
  onProgress: ({ done, total }) => {
    if (done % 80 === 0) console.log(`${done}/${total} terms`);
  },
});
console.log(`NLL <= ${nll.bitsPerDim.toFixed(3)} bits/dim (estimated from 50 timesteps)`);
console.log(
  `  prior ${nll.priorBitsPerDim.toFixed(5)}, decoder ${nll.decoderBitsPerDim.toFixed(3)}`,
);
images.dispose();
unet.dispose();
