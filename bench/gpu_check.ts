// What a GPU machine gives this library, as one JSON line on stdout: the WebGPU adapter (name,
// limits, features), and images/s of the cifar10 preset's forward pass and training step at
// batch 16 and 128 on `webgpu` and, where tfjs-node-gpu is installed, on `tensorflow`
// (CUDA). Each backend runs in its own process; progress goes to stderr.
//
//   deno run -A bench/gpu_check.ts            # a real GPU: a few minutes
//   deno run -A bench/gpu_check.ts --quick    # software Vulkan: batch 1, one timed pass
//
// Flags: --quick (or DDPM_GPU_CHECK_QUICK=1), --batches 16,128, --iterations 3,
// --backends webgpu,tensorflow, --preset cifar10. DDPM_GPU_MEMORY=16GiB states the GPU's memory
// for the micro-batch choice (WebGPU does not report it).
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { type BackendName, type PresetName, setBackend } from "../mod.ts";
import { _tfjsNodeInstalled } from "../src/backends/tensorflow/_tfjs_node_installed.ts";
import { bufferLimit } from "../src/memory/gpu_limits.ts";
import { backendMemoryLimit } from "../src/memory/memory_limit.ts";
import { webGpuErrors } from "../src/backends/webgpu/webgpu_errors.ts";
import { trainStepFixture } from "./_train_step_fixture.ts";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: Deno.env.get("DDPM_GPU_CHECK_QUICK") === "1" },
    batches: { type: "string" },
    iterations: { type: "string" },
    backends: { type: "string", default: "webgpu,tensorflow" },
    preset: { type: "string", default: "cifar10" },
    child: { type: "string" },
  },
});
const batches = (flags.batches ?? (flags.quick ? "1" : "16,128")).split(",").map(Number);
const iterations = Number(flags.iterations ?? (flags.quick ? 1 : 3));
const preset = flags.preset as PresetName;

/** One backend's measurements, or why there are none. */
interface BackendResult {
  forwardImgPerSec?: Record<string, number>;
  trainImgPerSec?: Record<string, number>;
  /** Images per pass of the training step at each batch (from the memory limits). */
  microBatch?: Record<string, number>;
  bufferLimitBytes?: number;
  memoryBudgetBytes?: number;
  webgpuErrors?: string[];
  seconds?: number;
  error?: string;
}

if (flags.child) {
  // Child mode: one backend, every case, one JSON object on stdout.
  console.log(JSON.stringify(await measureBackend(flags.child as BackendName)));
  Deno.exit(0);
}

const started = performance.now();
const report: Record<string, unknown> = {
  deno: Deno.version.deno,
  tfjs: tf.version.tfjs,
  preset,
  batches,
  iterations,
  quick: flags.quick,
  ...await adapterReport(),
};
const results: Record<string, BackendResult> = {};
for (const backend of flags.backends.split(",")) {
  const missing = backend === "tensorflow" ? tensorflowMissing() : undefined;
  if (missing) {
    console.error(`gpu_check: tensorflow backend skipped: ${missing}`);
    results[backend] = { error: missing };
    continue;
  }
  console.error(`gpu_check: measuring ${backend} (${preset}, batches ${batches})...`);
  results[backend] = await child(backend);
}
report.results = results;
report.seconds = Math.round((performance.now() - started) / 1000);
console.log(JSON.stringify(report));

/** The adapter Deno's WebGPU offers (what TF.js's webgpu backend opens), or why none. */
async function adapterReport(): Promise<Record<string, unknown>> {
  const gpu = (navigator as { gpu?: GPU }).gpu;
  if (!gpu) return { adapter: null, adapterError: "navigator.gpu is missing in this Deno" };
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    return {
      adapter: null,
      adapterError: "no WebGPU adapter (a GPU's Vulkan driver, or mesa-vulkan-drivers)",
    };
  }
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    limits[key] = (adapter.limits as unknown as Record<string, number>)[key];
  }
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    },
    limits,
    features: [...adapter.features].sort(),
  };
}

/** Why the tensorflow backend cannot run here, or undefined when tfjs-node(-gpu) is installed. */
function tensorflowMissing(): string | undefined {
  const pkgs = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];
  if (pkgs.some((p) => _tfjsNodeInstalled(p, Deno.cwd()))) return undefined;
  return "tfjs-node-gpu is not installed (deno add npm:@tensorflow/tfjs-node-gpu@4.22.0, " +
    "CUDA 11.2 and cuDNN 8.1, and allow its install script)";
}

/** Runs one backend in its own process; its last stdout line is the JSON result. */
async function child(backend: string): Promise<BackendResult> {
  const args = [
    "run",
    "-A",
    new URL(import.meta.url).pathname,
    "--child",
    backend,
    "--preset",
    preset,
    "--batches",
    batches.join(","),
    "--iterations",
    String(iterations),
  ];
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    return { error: `the ${backend} process exited with code ${out.code}` };
  }
}

/** Every case on one backend: forward and training step at each batch, median img/s. */
async function measureBackend(backend: BackendName): Promise<BackendResult> {
  const t0 = performance.now();
  try {
    await setBackend(backend);
  } catch (err) {
    return { error: String((err as Error).message ?? err).split("\n")[0] };
  }
  const result: BackendResult = {
    forwardImgPerSec: {},
    trainImgPerSec: {},
    microBatch: {},
    bufferLimitBytes: bufferLimit(),
    memoryBudgetBytes: backendMemoryLimit(),
  };
  for (const batch of batches) {
    // Quick mode takes whole passes as they come, without measuring the memory first.
    const sizes = flags.quick ? { microBatchSize: batch, forwardChunk: batch } : {};
    const fixture = await trainStepFixture(preset, batch, sizes);
    result.microBatch![batch] = fixture.microBatchSize;
    for (const pass of ["forward", "train"] as const) {
      const run = (i: number) => pass === "forward" ? fixture.forward() : fixture.train(i);
      await run(1); // warm-up: shader compilation, first allocations
      const times: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const start = performance.now();
        await run(i + 2);
        times.push(performance.now() - start);
      }
      const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
      const imgPerSec = Number((batch / median * 1000).toPrecision(3));
      (pass === "forward" ? result.forwardImgPerSec! : result.trainImgPerSec!)[batch] = imgPerSec;
      console.error(`gpu_check: ${backend} ${pass} batch ${batch}: ${imgPerSec} img/s`);
    }
    fixture.dispose();
  }
  if (backend === "webgpu") result.webgpuErrors = webGpuErrors();
  result.seconds = Math.round((performance.now() - t0) / 1000);
  return result;
}
