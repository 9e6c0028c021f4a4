/// <reference lib="dom" />
/**
 * The browser demo's page script: loads the model the demo server serves, picks a backend and
 * samples live, drawing x_t and the predicted x_0 after every reverse step. `deno task demo`
 * bundles it for the browser at startup.
 *
 * Query parameters: `backend` (auto, webgpu, webgl, wasm, cpu), `seed`, `steps`, `sampler`
 * (ddim, ddpm, dpm, dpm-sde), `n` (images), and `autostart=1` to sample as soon as the model is loaded.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import {
  BROWSER_BACKEND_NAMES,
  type BrowserBackendName,
  createUNet,
  defaultSamplerSteps,
  encodePng,
  gridPixels,
  readSafetensors,
  type RgbaImage,
  sample,
  SAMPLER_NAMES,
  type SamplerName,
  type SchedulerConfig,
  schedulerForSampler,
  setBrowserBackend,
  type UNet,
  type UNetConfig,
} from "../browser.ts";

/** What the server says about the model at `/model/model.json`. */
interface ModelInfo {
  /** Where the weights came from, for the page's header. */
  name: string;
  unet: UNetConfig;
  scheduler: SchedulerConfig;
  /** Default sampler and steps. */
  sample: { sampler: Sampler; steps: number };
}

type Sampler = SamplerName;
const asSampler = (v: string | null): Sampler | null =>
  SAMPLER_NAMES.includes(v as Sampler) ? v as Sampler : null;
const SAMPLER_LABELS: Record<Sampler, string> = {
  ddim: "DDIM",
  ddpm: "DDPM",
  dpm: "DPM-Solver++",
  "dpm-sde": "SDE-DPM-Solver++",
};

/** The steps a sampler takes by default: the model's own for its sampler, else 20 / 50 / T. */
function defaultSteps(sampler: Sampler, info: ModelInfo): number {
  if (sampler === info.sample.sampler) return info.sample.steps;
  return defaultSamplerSteps(sampler, info.scheduler.numTrainTimesteps);
}

/** What the page shows and keeps between runs. */
interface State {
  unet: UNet;
  info: ModelInfo;
  backend: string;
  /** The last finished grid, for "Save PNG". */
  last?: { pixels: RgbaImage; name: string };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const els = {
  model: $<HTMLParagraphElement>("model"),
  form: $<HTMLFormElement>("controls"),
  seed: $<HTMLInputElement>("seed"),
  steps: $<HTMLInputElement>("steps"),
  sampler: $<HTMLSelectElement>("sampler"),
  count: $<HTMLInputElement>("count"),
  start: $<HTMLButtonElement>("start"),
  save: $<HTMLButtonElement>("save"),
  progress: $<HTMLProgressElement>("progress"),
  status: $<HTMLParagraphElement>("status"),
  xt: $<HTMLCanvasElement>("xt"),
  x0: $<HTMLCanvasElement>("x0"),
};

function setState(state: "loading" | "ready" | "sampling" | "done" | "error", text: string) {
  document.body.dataset.state = state;
  els.status.textContent = text;
}

async function fetchOk(path: string): Promise<Response> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${res.statusText}`);
  return res;
}

/** Builds the UNet and fills it with the weights read by the library's safetensors reader. */
async function loadModel(): Promise<{ unet: UNet; info: ModelInfo }> {
  const info = await (await fetchOk("/model/model.json")).json() as ModelInfo;
  const bytes = new Uint8Array(await (await fetchOk("/model/unet.safetensors")).arrayBuffer());
  const { tensors } = readSafetensors(bytes);
  const unet = createUNet(info.unet);
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const [name, t] of tensors) weights.set(name, tf.tensor(t.data, t.shape, "float32"));
    unet.setWeights(weights);
  } catch (err) {
    unet.dispose();
    throw err;
  } finally {
    tf.dispose([...weights.values()]);
  }
  return { unet, info };
}

function draw(canvas: HTMLCanvasElement, image: RgbaImage): void {
  if (canvas.width !== image.width || canvas.height !== image.height) {
    canvas.width = image.width;
    canvas.height = image.height;
  }
  const data = new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
  canvas.getContext("2d")!.putImageData(data, 0, 0);
}

function intInput(input: HTMLInputElement, min: number, max: number): number {
  const n = Number(input.value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(
      `${input.id} must be an integer in [${min}, ${max}]: got "${input.value}"`,
    );
  }
  return n;
}

async function run(state: State): Promise<void> {
  const T = state.info.scheduler.numTrainTimesteps;
  const seed = intInput(els.seed, 0, 2 ** 31 - 1);
  const steps = intInput(els.steps, 1, T);
  const n = intInput(els.count, 1, 64);
  const sampler = asSampler(els.sampler.value) ?? "ddim";
  const scheduler = schedulerForSampler(sampler, state.info.scheduler);
  const label = SAMPLER_LABELS[sampler];
  const cols = Math.ceil(Math.sqrt(n));
  els.start.disabled = els.save.disabled = true;
  els.progress.value = 0;
  setState("sampling", `sampling ${n} with ${label}, ${steps} steps…`);
  const t0 = performance.now();
  const images = await sample({
    unet: state.unet,
    scheduler,
    batchSize: n,
    numInferenceSteps: steps,
    seed,
    onStep: async ({ step, numSteps, t, sample: xt, predOriginalSample }) => {
      draw(els.xt, await gridPixels(xt, { cols }));
      draw(els.x0, await gridPixels(predOriginalSample, { cols }));
      els.progress.value = (step + 1) / numSteps;
      const ms = (performance.now() - t0) / (step + 1);
      els.status.textContent = `step ${step + 1} / ${numSteps}, t = ${t}, ${ms.toFixed(0)} ms/step`;
    },
  });
  const pixels = await gridPixels(images, { cols });
  images.dispose();
  draw(els.xt, pixels);
  state.last = { pixels, name: `ddpm-${sampler}-${steps}-seed${seed}.png` };
  const seconds = (performance.now() - t0) / 1000;
  setState(
    "done",
    `done: ${n} images, ${steps} ${label} steps in ${seconds.toFixed(1)} s on ${state.backend}`,
  );
  els.start.disabled = els.save.disabled = false;
}

async function savePng(state: State): Promise<void> {
  if (!state.last) return;
  const png = await encodePng(state.last.pixels);
  const url = URL.createObjectURL(
    new Blob([png as Uint8Array<ArrayBuffer>], { type: "image/png" }),
  );
  const a = document.createElement("a");
  a.href = url;
  a.download = state.last.name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One line about the backend: for wasm, the build the browser could start. */
async function describeBackend(backend: string): Promise<string> {
  if (backend !== "wasm") return backend;
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = getThreadsCount();
  return `wasm (${simd ? "SIMD" : "no SIMD"}, ${threads} thread${threads === 1 ? "" : "s"})`;
}

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const asked = (params.get("backend") ?? "auto") as BrowserBackendName;
  if (!BROWSER_BACKEND_NAMES.includes(asked)) {
    throw new RangeError(
      `?backend=${asked} is not one of ${BROWSER_BACKEND_NAMES.join(", ")}`,
    );
  }
  setState("loading", `starting the ${asked} backend…`);
  const backend = await describeBackend(await setBrowserBackend(asked, { wasmPaths: "/wasm/" }));
  setState("loading", `loading the model on ${backend}…`);
  const { unet, info } = await loadModel();
  const state: State = { unet, info, backend };
  els.model.textContent = `${info.name}: ${info.unet.resolution}x${info.unet.resolution}, ${
    (unet.numParams() / 1e6).toFixed(2)
  }M parameters, on ${backend}`;
  els.seed.value = params.get("seed") ?? "0";
  els.sampler.value = asSampler(params.get("sampler")) ?? info.sample.sampler;
  els.steps.value = params.get("steps") ??
    String(defaultSteps(els.sampler.value as Sampler, info));
  // Each sampler has its own sensible number of steps (DPM-Solver++ ~20, DDIM 50, DDPM T).
  els.sampler.addEventListener("change", () => {
    els.steps.value = String(defaultSteps(els.sampler.value as Sampler, info));
  });
  els.steps.max = String(info.scheduler.numTrainTimesteps);
  els.count.value = params.get("n") ?? els.count.value;
  const guarded = (work: () => Promise<void>) => () =>
    work().catch((err) => {
      console.error(err);
      setState("error", `error: ${(err as Error)?.message ?? err}`);
      els.start.disabled = false;
    });
  els.form.addEventListener("submit", (e) => {
    e.preventDefault();
    guarded(() => run(state))();
  });
  els.save.addEventListener("click", guarded(() => savePng(state)));
  els.start.disabled = false;
  setState("ready", `ready on ${backend}`);
  // For the browser test: the PNG that "Save PNG" would download, as base64.
  (globalThis as Record<string, unknown>).ddpmDemoPng = async () => {
    if (!state.last) return null;
    const png = await encodePng(state.last.pixels);
    let s = "";
    for (const b of png) s += String.fromCharCode(b);
    return btoa(s);
  };
  if (params.get("autostart") === "1") guarded(() => run(state))();
}

main().catch((err) => {
  console.error(err);
  setState("error", `error: ${(err as Error)?.message ?? err}`);
});
