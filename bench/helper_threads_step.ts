// A whole training step on onednn with the helper threads (src/backends/cpu/_helper_threads.ts)
// on and off, alternating step by step in one process, so that the machine's drift hits both:
// medians, their ratio, and how many pieces a step hands to helpers.
//
//   deno run -A bench/helper_threads_step.ts [--preset tiny] [--precision fp32] [--steps 10]
import { parseArgs } from "node:util";
import { type PresetName, setBackend } from "../mod.ts";
import type { Precision } from "../src/backends/mod.ts";
import { _helperThreadStats, _useHelperThreads } from "../src/backends/cpu/_helper_threads.ts";
import { trainStepFixture } from "./_train_step_fixture.ts";

const { values: flags } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    precision: { type: "string", default: "fp32" },
    steps: { type: "string", default: "10" },
  },
});
await setBackend("onednn", { precision: flags.precision as Precision });
const fixture = await trainStepFixture(flags.preset as PresetName, 8);
// Warm-up on both settings: primitives, buffers, and each thread's JIT.
for (let i = 1; i <= 4; i++) {
  _useHelperThreads(i % 2 === 0);
  await fixture.train(i);
}
const ms = { off: [] as number[], on: [] as number[] };
const before = _helperThreadStats.parts;
for (let i = 0; i < 2 * Number(flags.steps); i++) {
  const on = i % 2 === 0;
  _useHelperThreads(on);
  const start = performance.now();
  await fixture.train(10 + i);
  ms[on ? "on" : "off"].push(performance.now() - start);
}
const pieces = (_helperThreadStats.parts - before) / Number(flags.steps);
const median = (a: number[]) => a.toSorted((p, q) => p - q)[a.length >> 1];
const [off, on] = [median(ms.off), median(ms.on)];
console.log(
  `${flags.preset}, ${flags.precision}, batch 8: helpers off ${off.toFixed(0)} ms, on ` +
    `${on.toFixed(0)} ms (${(off / on).toFixed(2)}x); ${pieces} pieces a step to helpers`,
);
