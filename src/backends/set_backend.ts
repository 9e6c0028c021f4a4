/**
 * Choosing the TensorFlow.js backend that every tensor in this library runs on.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendDescriptor, Precision } from "../kernels/backend_descriptor.ts";
import { registerBackendDescriptor } from "../kernels/backend_registry.ts";
import { BackendUnavailableError } from "./_activate.ts";
import { _gpuMemoryFromEnv } from "./_gpu_memory_env.ts";
import { cpuBackend } from "./cpu/descriptor.ts";
import { onednnBackend } from "./onednn/descriptor.ts";
import { Bf16UnavailableError, PRECISIONS } from "./onednn/precision.ts";
import { tensorflowBackend } from "./tensorflow/descriptor.ts";
import { wasmBackend } from "./wasm/descriptor.ts";
import { webgpuBackend } from "./webgpu/descriptor.ts";

/** Every name {@linkcode setBackend} accepts, "auto" first: the one list of backends. */
export const BACKEND_NAMES = ["auto", "onednn", "wasm", "cpu", "webgpu", "tensorflow"] as const;

/** The backends {@linkcode setBackend} knows. "auto" picks the fastest one that starts. */
export type BackendName = typeof BACKEND_NAMES[number];

/** The descriptor of each name: what starts it, its kernels, limits and capabilities. */
const BACKENDS: Readonly<Record<Exclude<BackendName, "auto">, BackendDescriptor>> = {
  onednn: onednnBackend,
  wasm: wasmBackend,
  cpu: cpuBackend,
  webgpu: webgpuBackend({ memoryBudget: _gpuMemoryFromEnv }),
  tensorflow: tensorflowBackend,
};

/** What "auto" tries, best first; the last one always starts. */
const AUTO_ORDER = [BACKENDS.tensorflow, BACKENDS.onednn, BACKENDS.wasm] as const;

let loggedBackend: string | undefined;

/** Options of {@linkcode setBackend}. */
export interface SetBackendOptions {
  /**
   * `"fp32"` (default) or `"bf16"`: mixed precision as PyTorch's CPU autocast, on the onednn
   * backend only (convolutions and matrix products read bf16 and write fp32; see the README).
   */
  precision?: Precision;
}

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
 * @param options The precision (onednn only).
 * @returns The name of the backend now in use, as TensorFlow.js reports it.
 * @throws {RangeError} for an unknown name.
 * @throws {Error} when the backend cannot start, naming what to install.
 * @throws {Bf16UnavailableError} for precision bf16 on another backend or a CPU without
 *   native bf16 kernels.
 *
 * @example Use the default embedded backend
 * ```ts
 * import { setBackend } from "@x/ddpm";
 * const name = await setBackend("cpu");
 * if (name !== "cpu") throw new Error(`expected cpu, got ${name}`);
 * ```
 */
export async function setBackend(
  name: BackendName = "auto",
  options: SetBackendOptions = {},
): Promise<string> {
  if (!BACKEND_NAMES.includes(name)) {
    throw new RangeError(
      `Cannot set backend "${name}": expected one of ${BACKEND_NAMES.join(", ")}`,
    );
  }
  const precision = options.precision ?? "fp32";
  if (!PRECISIONS.includes(precision)) {
    throw new RangeError(
      `Cannot set precision "${precision}": expected one of ${PRECISIONS.join(", ")}`,
    );
  }
  for (const d of Object.values(BACKENDS)) registerBackendDescriptor(d);
  const auto = name === "auto";
  const candidates = auto ? AUTO_ORDER : [BACKENDS[name]];
  const passedBy: string[] = [];
  for (const [i, d] of candidates.entries()) {
    if (auto && d.present && !d.present()) continue;
    let detail: string;
    try {
      detail = await d.start(auto);
    } catch (err) {
      const unavailable = (d.isUnavailable ?? isBackendUnavailable)(err);
      if (!auto || !unavailable || i === candidates.length - 1) throw err;
      passedBy.push(`no ${d.name}: ${firstLine(err)}`);
      continue;
    }
    if (d.setPrecision) {
      d.setPrecision(precision);
    } else if (precision !== "fp32") {
      throw new Bf16UnavailableError(
        `precision ${precision} needs the onednn backend, not "${d.name}": use --backend onednn ` +
          "(apt-get install libdnnl2) or precision fp32 (--precision fp32)",
      );
    }
    if (loggedBackend !== d.name) {
      loggedBackend = d.name;
      const why = [...passedBy, detail, precision === "fp32" ? "" : `precision ${precision}`]
        .filter(Boolean).join("; ");
      console.error(`ddpm: using TensorFlow.js backend "${d.name}"${why ? ` (${why})` : ""}`);
    }
    return tf.getBackend();
  }
  throw new Error("internal: no backend started"); // the last of AUTO_ORDER throws instead
}

function isBackendUnavailable(err: unknown): boolean {
  return err instanceof BackendUnavailableError;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0];
}
