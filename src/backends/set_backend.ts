/**
 * Choosing the TensorFlow.js backend that every tensor in this library runs on.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// Registers the "wasm" backend. Under Deno the binaries load from the npm package on disk.
import "@tensorflow/tfjs-backend-wasm";
import { registerOneDnnBackend } from "./onednn/backend.ts";
import { OneDnnUnavailableError } from "./onednn/_lib.ts";
import { registerGroupNormKernels } from "./group_norm_kernels.ts";
import { registerSwishKernels } from "./swish_kernels.ts";
import { registerOptimizerKernels } from "./optimizer_kernels.ts";
import { registerFastCpuKernels } from "./fast_cpu_kernels.ts";
import { registerWebGpuOptimizerKernels } from "./webgpu_optimizer_kernels.ts";
import { watchWebGpuErrors } from "./webgpu_errors.ts";
import { _tfjsNodeInstalled } from "./_tfjs_node_installed.ts";
import { preferThreadedWasm } from "./prefer_threaded_wasm.ts";

/** Every name {@linkcode setBackend} accepts, "auto" first: the one list of backends. */
export const BACKEND_NAMES = ["auto", "onednn", "wasm", "cpu", "webgpu", "tensorflow"] as const;

/** The backends {@linkcode setBackend} knows. "auto" picks the fastest one that starts. */
export type BackendName = typeof BACKEND_NAMES[number];

/** The npm packages that provide the native "tensorflow" backend, best first. */
const TFJS_NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

let loggedBackend: string | undefined;

/**
 * Selects the TensorFlow.js backend and waits until it is ready.
 *
 * - `"auto"` (default): `tensorflow` when `npm:@tensorflow/tfjs-node-gpu` or
 *   `npm:@tensorflow/tfjs-node` is installed next to the program, else `onednn` when
 *   oneDNN 2.x (`libdnnl.so.2`) loads, else `wasm`. One line on stderr says which and why.
 * - `"onednn"`: native CPU kernels from oneDNN through FFI (`apt-get install libdnnl2`,
 *   `--allow-ffi`); 2-3x faster than wasm on two cores, and no heap limit.
 * - `"wasm"`: WebAssembly with XNNPACK and SIMD. Works everywhere, no install. Runs on every
 *   core (at most 8) through the threaded build when it starts, else on one; set
 *   `DDPM_WASM_THREADS=N` to choose.
 * - `"cpu"`: plain JavaScript. Slow; useful as a reference in tests.
 * - `"webgpu"`: Deno's built-in WebGPU (a real GPU, or software Vulkan).
 * - `"tensorflow"`: native libtensorflow through tfjs-node(-gpu), CUDA with the `-gpu` package.
 *
 * The backend in use is logged once to stderr.
 *
 * @param name The backend to use.
 * @returns The name of the backend now in use, as TensorFlow.js reports it.
 * @throws {RangeError} for an unknown name.
 * @throws {Error} when the backend cannot start, naming what to install.
 *
 * @example Use the default embedded backend
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * const name = await setBackend("cpu");
 * if (name !== "cpu") throw new Error(`expected cpu, got ${name}`);
 * ```
 */
export async function setBackend(name: BackendName = "auto"): Promise<string> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new RangeError(
      `Cannot set backend "${name}": expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  let chosen: string;
  let why = "";
  if (name === "auto") {
    if (await tryTensorflowBackend(true)) {
      chosen = "tensorflow";
      why = "tfjs-node is installed";
    } else {
      const onednn = tryOneDnn();
      chosen = onednn.ok ? "onednn" : "wasm";
      why = onednn.ok ? `oneDNN ${onednn.detail} loaded` : `no onednn: ${onednn.detail}`;
    }
  } else if (name === "onednn") {
    const onednn = tryOneDnn();
    if (!onednn.ok) {
      throw new OneDnnUnavailableError(`Cannot start backend "onednn": ${onednn.detail}`);
    }
    chosen = "onednn";
  } else if (name === "tensorflow") {
    if (!(await tryTensorflowBackend(false))) {
      throw new Error(
        'Cannot start backend "tensorflow": neither npm:@tensorflow/tfjs-node-gpu nor ' +
          "npm:@tensorflow/tfjs-node could be loaded. Install one with " +
          "`deno add npm:@tensorflow/tfjs-node-gpu@4.22.0` (CUDA 11.2, cuDNN 8.1) and allow its " +
          'install script (`"allowScripts"` in deno.json), or use --backend wasm.',
      );
    }
    chosen = "tensorflow";
  } else if (name === "webgpu") {
    await import("@tensorflow/tfjs-backend-webgpu");
    chosen = "webgpu";
  } else {
    chosen = name;
  }
  // The threaded wasm build when it starts, else the single-thread one; says which.
  const build = chosen === "wasm" ? await preferThreadedWasm() : "";
  if (tf.getBackend() !== chosen) {
    let ok = false;
    let cause: unknown;
    try {
      ok = await tf.setBackend(chosen);
      await tf.ready();
    } catch (err) {
      cause = err;
    }
    if (!ok) throw new Error(backendFailureMessage(chosen), { cause });
  }
  if (chosen === "cpu") {
    // The fused group-norm, swish and optimiser kernels and the fast copies, reductions and
    // broadcasts are plain JavaScript, so cpu gets them too.
    registerGroupNormKernels("cpu");
    registerSwishKernels("cpu");
    registerOptimizerKernels("cpu");
    registerFastCpuKernels("cpu");
    // The cpu backend otherwise prints a banner advertising tfjs-node on its first tensor;
    // this library already explains its backends.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  }
  if (chosen === "webgpu") {
    // Adam and the EMA as one compute shader per output, instead of a dozen kernels per weight.
    registerWebGpuOptimizerKernels();
    // WebGPU drops an invalid dispatch without throwing; say so instead of training on zeros.
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    if (device) watchWebGpuErrors(device);
  }
  if (loggedBackend !== chosen) {
    loggedBackend = chosen;
    const detail = [why, build].filter(Boolean).join("; ");
    console.error(`ddpm: using TensorFlow.js backend "${chosen}"${detail ? ` (${detail})` : ""}`);
  }
  return tf.getBackend();
}

/** Registers the onednn backend if oneDNN loads; the detail is its version or why not. */
function tryOneDnn(): { ok: boolean; detail: string } {
  try {
    return { ok: true, detail: registerOneDnnBackend() };
  } catch (err) {
    if (err instanceof OneDnnUnavailableError) return { ok: false, detail: err.message };
    throw err;
  }
}

function backendFailureMessage(name: string): string {
  if (name === "webgpu") {
    return 'Cannot start backend "webgpu": no WebGPU adapter was found. On a machine without ' +
      "a GPU install software Vulkan (`apt-get install mesa-vulkan-drivers`), or use --backend wasm.";
  }
  return `Cannot start backend "${name}": TensorFlow.js could not initialise it. ` +
    "Use --backend wasm, which needs no install.";
}

/**
 * Loads tfjs-node(-gpu), which registers the "tensorflow" backend on import.
 *
 * With `onlyIfPresent`, a package is imported only when it is already installed in a
 * `node_modules` folder, so that "auto" never triggers a download of a package whose native
 * library cannot be fetched on this machine.
 */
async function tryTensorflowBackend(onlyIfPresent: boolean): Promise<boolean> {
  if (tf.findBackend("tensorflow")) return true;
  for (const pkg of TFJS_NODE_PACKAGES) {
    if (onlyIfPresent && !isInstalled(pkg)) continue;
    try {
      // A computed specifier keeps Deno from resolving the package ahead of time.
      const specifier = `npm:${pkg}@4.22.0`;
      await import(specifier);
      if (tf.findBackend("tensorflow")) return true;
    } catch (err) {
      if (onlyIfPresent) {
        console.error(
          `ddpm: ${pkg} is installed but did not load (${firstLine(err)}); using wasm. ` +
            "Its install script must have downloaded libtensorflow (allowScripts in deno.json).",
        );
      }
    }
    // A package that failed half-way has registered some kernels already; trying the other
    // one would register them again, so one attempt is all.
    return false;
  }
  return false;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0].slice(0, 200);
}

function isInstalled(pkg: string): boolean {
  try {
    return _tfjsNodeInstalled(pkg, Deno.cwd());
  } catch {
    return false;
  }
}
