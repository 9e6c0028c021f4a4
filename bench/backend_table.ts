// The side-by-side table: images/s of the UNet forward pass and of a full training step
// (forward, MSE backward, clipping, Adam, EMA) per backend and preset, next to PyTorch running
// the same network on the same cores (bench/pytorch_reference.py, when Debian's python3-torch
// is installed). Every cell runs in its own process, so one backend's memory or a wasm abort
// does not touch the next; run it on a quiet machine. The training step is split into
// micro-batches as train() splits it, from each backend's memory limit (on webgpu, the device's
// largest buffer).
//
//   deno run -A bench/backend_table.ts [--backends onednn,wasm,webgpu] [--presets tiny,cifar10]
//                                      [--precisions fp32,bf16] [--big]
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
    repeats: { type: "string", default: "3" },
  },
});

if (flags.case) {
  // Child mode: measure one case and print it as JSON.
  console.log(JSON.stringify(await measure(JSON.parse(flags.case), Number(flags.repeats))));
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
  progress(`PyTorch ${c.preset} ${c.pass} batch ${c.batch} ${c.precision}`);
  const torch = await pytorch(c);
  const shape = `${c.preset},${c.pass},${c.batch}`;
  if (torch && c.precision === "fp32") torchFp32.set(shape, torch.imgPerSec);
  const fp32 = torchFp32.get(shape);
  const cells = [
    c.preset,
    c.pass,
    String(c.batch),
    c.precision,
    torch ? fmt(torch.imgPerSec) : "n/a",
  ];
  for (const backend of backends) {
    const blanks = withBf16 ? ["", "", ""] : ["", ""];
    if (c.precision === "bf16" && backend !== "onednn") {
      cells.push("n/a", ...blanks);
      continue;
    }
    progress(`${backend} ${c.preset} ${c.pass} batch ${c.batch} ${c.precision}`);
    const r = await child({ ...c, backend });
    if (r.imgPerSec === undefined) {
      cells.push(r.error ?? "failed", ...blanks);
      continue;
    }
    const gflop = unetForwardFlops(presets[c.preset].unet) * (c.pass === "train" ? 3 : 1) / 1e9;
    cells.push(
      fmt(r.imgPerSec) +
        (r.peakRssMb && c.batch >= 64 ? ` (peak RSS ${(r.peakRssMb / 1024).toFixed(1)} GiB)` : ""),
      (gflop * r.imgPerSec).toFixed(0),
      torch ? `${(r.imgPerSec / torch.imgPerSec).toFixed(2)}x` : "",
      ...(withBf16 ? [fp32 ? `${(r.imgPerSec / fp32).toFixed(2)}x` : ""] : []),
    );
  }
  console.log(`| ${cells.join(" | ")} |`);
}

function fmt(x: number): string {
  return x >= 10 ? x.toFixed(0) : x.toFixed(2);
}

async function child(c: Case): Promise<Result> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--case", JSON.stringify(c)],
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

async function measure(c: Case, repeats: number): Promise<Result> {
  await setBackend(c.backend as BackendName, { precision: c.precision });
  const fixture = await trainStepFixture(c.preset, c.batch);
  const run = c.pass === "forward" ? () => fixture.forward() : (i: number) => fixture.train(i);
  await run(1); // warm-up: primitive creation (shader compilation on webgpu), first allocations
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run(i + 2);
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
