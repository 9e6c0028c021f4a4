// Training steps on onednn with V8's background threads at their default priority and at nice
// 19 (src/backends/onednn/_background_priority.ts), in alternating processes so that the
// machine's drift hits both: the median step of each process, per setting.
//
//   deno run -A bench/v8_worker_priority_step.ts [--preset tiny] [--precision bf16]
//                                                [--pairs 3] [--steps 20]
import { parseArgs } from "node:util";
import { type PresetName, setBackend } from "../mod.ts";
import type { Precision } from "../src/backends/mod.ts";
import { trainStepFixture } from "./_train_step_fixture.ts";

const { values: flags } = parseArgs({
  options: {
    preset: { type: "string", default: "tiny" },
    precision: { type: "string", default: "bf16" },
    pairs: { type: "string", default: "3" },
    steps: { type: "string", default: "20" },
    child: { type: "boolean", default: false },
  },
});

if (flags.child) {
  // One process: the median of --steps steps after 5 warm-up steps, as JSON.
  await setBackend("onednn", { precision: flags.precision as Precision });
  const fixture = await trainStepFixture(flags.preset as PresetName, 8);
  for (let i = 1; i <= 5; i++) await fixture.train(i);
  const ms: number[] = [];
  for (let i = 0; i < Number(flags.steps); i++) {
    const start = performance.now();
    await fixture.train(10 + i);
    ms.push(performance.now() - start);
  }
  console.log(JSON.stringify(ms.toSorted((a, b) => a - b)[ms.length >> 1]));
  Deno.exit(0);
}

async function child(nice: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", new URL(import.meta.url).pathname, "--child"],
      ...["--preset", flags.preset, "--precision", flags.precision, "--steps", flags.steps],
    ],
    env: { DDPM_V8_WORKER_NICE: nice },
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

const rows: [number, number][] = [];
for (let p = 0; p < Number(flags.pairs); p++) rows.push([await child("0"), await child("19")]);
console.log(`${flags.preset}, ${flags.precision}, batch 8: median ms a step per process`);
console.log("| pair | V8 workers at nice 0 | at nice 19 | ratio |");
console.log("| --- | --- | --- | --- |");
rows.forEach(([a, b], i) =>
  console.log(`| ${i + 1} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)}x |`)
);
