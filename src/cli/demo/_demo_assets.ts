// What `deno task demo` serves: the page, its bundle, TF.js's wasm binaries and the model,
// each at one fixed path. Nothing is looked up on disk per request.
import type { SchedulerConfig } from "../../diffusion/scheduler_config.ts";
import { DDPMScheduler } from "../../diffusion/ddpm_scheduler.ts";
import { writeSafetensors } from "../../formats/safetensors.ts";
import type { Float32TensorData } from "../../formats/safetensors.ts";
import type { UNet } from "../../nn/unet.ts";
import type { SampleConfig } from "../../presets/presets.ts";

/** One response body and its media type. */
export interface DemoAsset {
  body: Uint8Array;
  type: string;
}

/** The fixed paths the demo answers, and what each returns. */
export type DemoRoutes = Map<string, DemoAsset>;

const WEB = new URL("../../../web/", import.meta.url);
const DENO_JSON = new URL("../../../deno.json", import.meta.url);

/** TF.js's three wasm builds; the browser fetches the one it can run from `/wasm/`. */
export const WASM_BINARIES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
] as const;

/**
 * Bundles a module and everything it imports into one script for browsers, with `deno bundle`
 * (esbuild) in a child process, using the project's import map.
 */
export async function bundleForBrowser(entry: URL): Promise<string> {
  if (entry.protocol !== "file:") {
    throw new Error(
      `Cannot bundle ${entry.href}: run \`deno task demo\` in a checkout of the repository`,
    );
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--config",
      DENO_JSON.pathname,
      entry.pathname,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(
      `deno bundle ${entry.pathname} failed:\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/** The page, its style, its bundled script and the wasm binaries. */
export async function pageRoutes(): Promise<DemoRoutes> {
  if (WEB.protocol !== "file:") {
    throw new Error(
      `Cannot serve the demo from ${WEB.href}: run \`deno task demo\` in a checkout of the repository`,
    );
  }
  const routes: DemoRoutes = new Map();
  const html = await Deno.readFile(new URL("index.html", WEB));
  routes.set("/", { body: html, type: "text/html; charset=utf-8" });
  routes.set("/index.html", { body: html, type: "text/html; charset=utf-8" });
  routes.set("/demo.css", {
    body: await Deno.readFile(new URL("demo.css", WEB)),
    type: "text/css; charset=utf-8",
  });
  const script = await bundleForBrowser(new URL("demo.ts", WEB));
  routes.set("/demo.js", {
    body: new TextEncoder().encode(script),
    type: "text/javascript; charset=utf-8",
  });
  const wasmDir = wasmOutDir();
  for (const name of WASM_BINARIES) {
    routes.set(`/wasm/${name}`, {
      body: await Deno.readFile(new URL(name, wasmDir)),
      type: "application/wasm",
    });
  }
  return routes;
}

/** `@tensorflow/tfjs-backend-wasm/wasm-out/`, where npm installed it. */
function wasmOutDir(): URL {
  const main = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  if (!main.startsWith("file:")) {
    throw new Error(`Cannot find TF.js's wasm binaries: the package resolves to ${main}`);
  }
  return new URL("../wasm-out/", main);
}

/** A model as the CLIs load it. */
export interface DemoModel {
  unet: UNet;
  scheduler: Partial<SchedulerConfig>;
  what: string;
  sampleDefaults?: SampleConfig;
}

/**
 * `/model/model.json` (the UNet and scheduler configs, the default sampler and steps) and
 * `/model/unet.safetensors` (the weights the model holds, float32, in this library's layout),
 * which the page reads with the library's own safetensors reader. The weights are read back
 * asynchronously, so a model on a GPU backend serves too.
 */
export async function modelRoutes(model: DemoModel): Promise<DemoRoutes> {
  const tensors = new Map<string, Float32TensorData>();
  for (const [name, v] of model.unet.getWeights()) {
    tensors.set(name, { shape: v.shape, data: await v.data() as Float32Array });
  }
  const scheduler = new DDPMScheduler(model.scheduler).config;
  const info = {
    name: model.what,
    unet: model.unet.config,
    scheduler,
    sample: {
      sampler: model.sampleDefaults?.sampler ?? "ddim",
      steps: model.sampleDefaults?.numInferenceSteps ?? 50,
    },
  };
  return new Map([
    ["/model/model.json", {
      body: new TextEncoder().encode(JSON.stringify(info)),
      type: "application/json",
    }],
    ["/model/unet.safetensors", {
      body: writeSafetensors(tensors, { format: "ddpm-demo" }),
      type: "application/octet-stream",
    }],
  ]);
}
