// Per-kernel profile of one training step (forward, backward, clipping, Adam, EMA): the top
// kernels by time, so the next bottleneck is visible.
//
//   deno run -A bench/profile_train_step.ts [--backend onednn] [--preset cifar10] [--batch 8]
//                                           [--pass train|forward] [--top 10]
//                                           [--precision fp32|bf16]
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, type PresetName, setBackend } from "../mod.ts";
import type { Precision } from "../src/backends/mod.ts";
import { trainStepFixture } from "./_train_step_fixture.ts";

const { values: flags } = parseArgs({
  options: {
    backend: { type: "string", default: "onednn" },
    preset: { type: "string", default: "cifar10" },
    batch: { type: "string", default: "8" },
    top: { type: "string", default: "10" },
    pass: { type: "string", default: "train" },
    precision: { type: "string", default: "fp32" },
  },
});
await setBackend(flags.backend as BackendName, { precision: flags.precision as Precision });
const name = flags.preset as PresetName;
const batch = Number(flags.batch);
const fixture = await trainStepFixture(name, batch);
const step = (i: number) => flags.pass === "forward" ? fixture.forward() : fixture.train(i);

await step(1); // warm-up: primitive creation and first-touch allocations
let start = performance.now();
await step(2);
const plainMs = performance.now() - start;
start = performance.now();
const info = await tf.profile(async () => {
  await step(3);
});
const profiledMs = performance.now() - start;

const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += Number(k.kernelTimeMs) || 0;
  e.calls++;
  byKernel.set(k.name, e);
}
const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
const rows = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(flags.top));
console.log(
  `${flags.backend}, ${name}, batch ${batch}: step ${plainMs.toFixed(0)} ms ` +
    `(${(batch / plainMs * 1000).toFixed(2)} img/s); profiled ${profiledMs.toFixed(0)} ms, ` +
    `kernels ${total.toFixed(0)} ms`,
);
console.log("| kernel | calls | ms | share |");
console.log("| --- | --- | --- | --- |");
for (const [k, e] of rows) {
  console.log(
    `| ${k} | ${e.calls} | ${e.ms.toFixed(1)} | ${(100 * e.ms / total).toFixed(1)}% |`,
  );
}
