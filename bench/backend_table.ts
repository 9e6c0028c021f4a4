// The side-by-side table: images/s of the UNet forward pass and of a full training step
// (forward, MSE backward, clipping, Adam, EMA) per backend and preset, next to PyTorch running
// the same network on the same cores (bench/pytorch_reference.py, when Debian's python3-torch
// is installed). Every cell runs in its own process, so one backend's memory or a wasm abort
// does not touch the next; run it on a quiet machine. The training step is split into
// micro-batches as train() splits it, from each backend's memory limit (on webgpu, the device's
// largest buffer).
//
//   deno run -A bench/backend_table.ts [--backends onednn,wasm,webgpu] [--presets tiny,cifar10]
//                                      [--precisions fp32,bf16] [--big] [--rounds 3]
//                                      [--warmup 3] [--repeats 5]
// Each cell runs --rounds times, PyTorch and the backends alternating, and shows the median; a
// ratio shows the median of the rounds' ratios and their range. Each run, on both sides, times
// --repeats passes after --warmup untimed ones and keeps the median: a process's first
// passes are slow (a tiny bf16 train step's second to fifth took 175-217 ms here, later ones
// 113-141 ms), so both sides are timed after the same warm-up.
// --big adds the cifar10 train step at batch 128. The 256x256 presets run at batch 1. A bf16 row runs PyTorch under
// torch.autocast("cpu", dtype=torch.bfloat16) and our onednn backend with precision "bf16"
// (other backends have no bf16: "n/a"); its "vs PyTorch" is against PyTorch bf16, and
// "vs PyTorch fp32" against the fp32 row's PyTorch.
//
// webgpu cells need a WebGPU adapter (a GPU, or software Vulkan: mesa-vulkan-drivers); on a GPU
// machine bench/gpu_check.ts gives the cifar10 numbers at batch 16 and 128 in one JSON line.
import { parseArgs } from "node:util";
import { type BackendName, type PresetName, presets, setBackend } from "../mod.ts";
import type { Precision } from "../src/backends/mod.ts";
import { trainStepFixture } from "./_train_step_fixture.ts";
import { unetForwardFlops } from "./_unet_flops.ts";

interface Case {
  backend: string;
  preset: PresetName;
  precision: Precision;
  pass: "forward" | "train";
  batch: number;
}

interface Result extends Case {
  imgPerSec?: number;
  peakRssMb?: number;
  error?: string;
}

const { values: flags } = parseArgs({
  options: {
    backends: { type: "string", default: "onednn,wasm" },
    presets: { type: "string", default: "tiny,cifar10" },
    precisions: { type: "string", default: "fp32" },
    big: { type: "boolean", default: false },
    case: { type: "string" },
    warmup: { type: "string", default: "3" },
    repeats: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
  },
});
const rounds = Number(flags.rounds);

if (flags.case) {
  // Child mode: measure one case and print it as JSON.
  const c = JSON.parse(flags.case);
  console.log(JSON.stringify(await measure(c, Number(flags.warmup), Number(flags.repeats))));
  Deno.exit(0);
}

const cases: Case[] = [];
const precisions = flags.precisions.split(",") as Precision[];
for (const preset of flags.presets.split(",") as PresetName[]) {
  // At 256x256 a batch of one, as the issue that set the targets measured it.
  const shapes: [Case["pass"], number][] = presets[preset].unet.resolution >= 256
    ? [["forward", 1], ["train", 1]]
    : [["forward", 16], ["train", 8]];
  if (flags.big && preset === "cifar10") shapes.push(["train", 128]);
  for (const [pass, batch] of shapes) {
    for (const precision of precisions) {
      cases.push({ backend: "", preset, precision, pass, batch });
    }
  }
}
const backends = flags.backends.split(",");
const withBf16 = precisions.includes("bf16");
const header = [
  "preset",
  "pass",
  "batch",
  "precision",
  "PyTorch img/s",
  ...backends.flatMap((b) => [
    `${b} img/s`,
    `${b} GFLOP/s`,
    `${b} vs PyTorch`,
    ...(withBf16 ? [`${b} vs PyTorch fp32`] : []),
  ]),
];
/** PyTorch's fp32 img/s per preset, pass and batch, for the bf16 rows' second ratio. */
const torchFp32 = new Map<string, number>();
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map(() => "---").join("|")}|`);
/** One line per measurement on stderr, so that a long table shows where it is. */
const progress = (what: string) =>
  console.error(`backend_table: ${new Date().toISOString().slice(11, 19)} ${what}`);
for (const c of cases) {
  // Rounds alternate PyTorch and each backend, so that all sides see the same minutes of a
  // noisy machine; a cell is the median of its rounds, a ratio the median of the rounds'
  // ratios with their range.
  const torchRuns: number[] = [];
  const runs = new Map<string, Result[]>(backends.map((b) => [b, []]));
  for (let round = 1; round <= rounds; round++) {
    const of = rounds > 1 ? ` (round ${round} of ${rounds})` : "";
    progress(`PyTorch ${c.preset} ${c.pass} batch ${c.batch} ${c.precision}${of}`);
    const torch = await pytorch(c);
    if (torch) torchRuns.push(torch.imgPerSec);
    for (const backend of backends) {
      if (c.precision === "bf16" && backend !== "onednn") continue;
      progress(`${backend} ${c.preset} ${c.pass} batch ${c.batch} ${c.precision}${of}`);
      runs.get(backend)!.push(await child({ ...c, backend }));
    }
  }
  const torch = torchRuns.length === rounds ? median(torchRuns) : undefined;
  const shape = `${c.preset},${c.pass},${c.batch}`;
  if (torch && c.precision === "fp32") torchFp32.set(shape, torch);
  const fp32 = torchFp32.get(shape);
  const cells = [c.preset, c.pass, String(c.batch), c.precision, torch ? fmt(torch) : "n/a"];
  for (const backend of backends) {
    const blanks = withBf16 ? ["", "", ""] : ["", ""];
    if (c.precision === "bf16" && backend !== "onednn") {
      cells.push("n/a", ...blanks);
      continue;
    }
    const results = runs.get(backend)!;
    const failed = results.find((r) => r.imgPerSec === undefined);
    if (failed) {
      cells.push(failed.error ?? "failed", ...blanks);
      continue;
    }
    const imgPerSec = median(results.map((r) => r.imgPerSec!));
    const peak = Math.max(...results.map((r) => r.peakRssMb ?? 0));
    const gflop = unetForwardFlops(presets[c.preset].unet) * (c.pass === "train" ? 3 : 1) / 1e9;
    const ratios = torchRuns.length === rounds
      ? results.map((r, i) => r.imgPerSec! / torchRuns[i])
      : undefined;
    cells.push(
      fmt(imgPerSec) + (peak && c.batch >= 64 ? ` (peak RSS ${(peak / 1024).toFixed(1)} GiB)` : ""),
      (gflop * imgPerSec).toFixed(0),
      ratios ? ratioCell(ratios) : "",
      ...(withBf16 ? [fp32 ? `${(imgPerSec / fp32).toFixed(2)}x` : ""] : []),
    );
  }
  console.log(`| ${cells.join(" | ")} |`);
}

function median(xs: number[]): number {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `1.19x`, or with several rounds `1.19x (1.09-1.49)`: the median and range of the ratios. */
function ratioCell(ratios: number[]): string {
  const m = `${median(ratios).toFixed(2)}x`;
  if (ratios.length < 2) return m;
  return `${m} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`;
}

function fmt(x: number): string {
  return x >= 10 ? x.toFixed(0) : x.toFixed(2);
}

async function child(c: Case): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", new URL(import.meta.url).pathname, "--case", JSON.stringify(c)],
      ...["--warmup", flags.warmup, "--repeats", flags.repeats],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop() ?? "";
    return { ...c, error: err.includes("Aborted") ? "aborts (wasm heap)" : `exit ${out.code}` };
  }
}

async function pytorch(c: Case): Promise<{ imgPerSec: number } | undefined> {
  const script = new URL("./pytorch_reference.py", import.meta.url).pathname;
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [
        script,
        "--json",
        ...["--preset", c.preset, "--pass", c.pass, "--batch", `${c.batch}`],
        ...["--precision", c.precision],
        ...["--warmup", flags.warmup, "--repeats", flags.repeats],
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
    const r = JSON.parse(line);
    return { imgPerSec: r.img_per_s };
  } catch {
    return undefined; // no python3-torch here
  }
}

async function measure(c: Case, warmup: number, repeats: number): Promise<Result> {
  await setBackend(c.backend as BackendName, { precision: c.precision });
  const fixture = await trainStepFixture(c.preset, c.batch);
  const run = c.pass === "forward" ? () => fixture.forward() : (i: number) => fixture.train(i);
  // Warm-up: primitive creation (shader compilation on webgpu), first allocations, the JIT.
  for (let i = 0; i < Math.max(warmup, 1); i++) await run(i + 1);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run(warmup + i + 2);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { ...c, imgPerSec: c.batch / median * 1000, peakRssMb: peakRssMb() };
}

function peakRssMb(): number | undefined {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return kb ? kb / 1024 : undefined;
  } catch {
    return undefined;
  }
}
