/**
 * Choosing the TensorFlow.js backend in a web page: WebGPU, WebGL or WebAssembly. The browser's
 * counterpart of `setBackend`, which also knows Deno's native backends and so imports FFI code
 * that a page cannot load.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
// Registers "wasm"; its binaries are fetched from `wasmPaths` when it starts.
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
// Registers "webgpu"; it starts only where `navigator.gpu` gives an adapter.
import "@tensorflow/tfjs-backend-webgpu";
import type { BackendDescriptor } from "../kernels/backend_descriptor.ts";
import { registerBackendDescriptor } from "../kernels/backend_registry.ts";
import { browserCpuBackend } from "./cpu/browser_descriptor.ts";
import { _wasmDescriptor } from "./wasm/_wasm_descriptor.ts";
import { webglBackend } from "./webgl/descriptor.ts";
import { webgpuBackend } from "./webgpu/descriptor.ts";

/** The backends {@linkcode setBrowserBackend} knows. "auto" picks the first that starts. */
export type BrowserBackendName = "auto" | "webgpu" | "webgl" | "wasm" | "cpu";

/** Every name {@linkcode setBrowserBackend} accepts, "auto" first. */
export const BROWSER_BACKEND_NAMES: readonly BrowserBackendName[] = [
  "auto",
  "webgpu",
  "webgl",
  "wasm",
  "cpu",
];

/** The descriptor of each name: what starts it, its kernels, limits and capabilities. */
const BACKENDS: Readonly<Record<Exclude<BrowserBackendName, "auto">, BackendDescriptor>> = {
  webgpu: webgpuBackend(),
  webgl: webglBackend,
  // tfjs's own wasm loader: SIMD where supported, threads where the page is isolated.
  wasm: _wasmDescriptor("wasm"),
  cpu: browserCpuBackend,
};

/** What "auto" tries, best first: a GPU through WebGPU, then WebGL, then WebAssembly. */
const AUTO_ORDER = ["webgpu", "webgl", "wasm"] as const;

/** Options of {@linkcode setBrowserBackend}. */
export interface BrowserBackendOptions {
  /**
   * URL prefix (ending in `/`) under which the page serves TensorFlow.js's wasm binaries
   * (`tfjs-backend-wasm.wasm`, `-simd.wasm`, `-threaded-simd.wasm`, from
   * `@tensorflow/tfjs-backend-wasm/wasm-out/`). Default: the folder of the page.
   */
  wasmPaths?: string;
}

/**
 * Selects the TensorFlow.js backend in a browser and waits until it is ready.
 *
 * - `"auto"` (default): `webgpu` where the browser gives a WebGPU adapter, else `webgl`, else
 *   `wasm`, passing by a GPU backend that runs on a software rasteriser (SwiftShader,
 *   llvmpipe), which is slower than wasm. The choice and the reasons go to `console.info`.
 * - `"webgpu"`, `"webgl"`: the GPU.
 * - `"wasm"`: WebAssembly with XNNPACK; SIMD where supported, and threads where the page is
 *   cross-origin isolated (served with COOP/COEP headers).
 * - `"cpu"`: plain JavaScript, slow.
 *
 * @param name The backend to use.
 * @param opts Where the wasm binaries are served.
 * @returns The name of the backend now in use.
 * @throws {RangeError} for an unknown name.
 * @throws {Error} when the named backend (or, for "auto", every one) cannot start.
 *
 * @example An unknown name is refused before anything starts
 * ```ts
 * import { setBrowserBackend } from "@x/ddpm/browser";
 * const err = await setBrowserBackend("metal" as "auto").catch((e) => e);
 * if (!(err instanceof RangeError)) throw new Error(String(err));
 * ```
 */
export async function setBrowserBackend(
  name: BrowserBackendName = "auto",
  opts: BrowserBackendOptions = {},
): Promise<string> {
  if (!BROWSER_BACKEND_NAMES.includes(name)) {
    throw new RangeError(
      `Cannot set backend "${name}": expected one of ${BROWSER_BACKEND_NAMES.join(", ")}`,
    );
  }
  if (opts.wasmPaths !== undefined) setWasmPaths(opts.wasmPaths);
  const candidates = name === "auto" ? AUTO_ORDER : [name];
  const failures: string[] = [];
  for (const candidate of candidates) {
    if (tf.getBackend() === candidate) return candidate;
    // A GPU backend on a software rasteriser runs slower than wasm; "auto" passes it by.
    const software = name === "auto" ? await softwareRenderer(candidate) : undefined;
    if (software) {
      failures.push(`${candidate}: software renderer (${software})`);
      continue;
    }
    const descriptor = BACKENDS[candidate];
    registerBackendDescriptor(descriptor);
    try {
      await descriptor.start(name === "auto");
      const why = failures.length ? ` (${failures.join("; ")})` : "";
      console.info(`ddpm: using TensorFlow.js backend "${candidate}"${why}`);
      return tf.getBackend();
    } catch (err) {
      failures.push(`${candidate}: ${(err as Error)?.message ?? err}`);
    }
  }
  throw new Error(`Cannot start backend "${name}" in this browser (${failures.join("; ")})`);
}

/** Minimal shapes of the browser APIs read below, which Deno's types do not declare. */
interface WebGlProbe {
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL: number } | null;
  getParameter(id: number): unknown;
}
interface GpuProbe {
  requestAdapter(): Promise<{ info?: { isFallbackAdapter?: boolean } } | null>;
}

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/**
 * The name of the software rasteriser behind a GPU backend, or undefined for real hardware or
 * when it cannot be told (no DOM, the renderer hidden).
 */
async function softwareRenderer(backend: string): Promise<string | undefined> {
  const g = globalThis as {
    document?: { createElement(tag: "canvas"): { getContext(id: string): unknown } };
    navigator?: { gpu?: GpuProbe };
  };
  try {
    if (backend === "webgl" && g.document) {
      const gl = g.document.createElement("canvas").getContext("webgl") as WebGlProbe | null;
      const ext = gl?.getExtension("WEBGL_debug_renderer_info");
      const renderer = ext ? String(gl!.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : "";
      return SOFTWARE_RENDERERS.test(renderer) ? renderer : undefined;
    }
    if (backend === "webgpu" && g.navigator?.gpu) {
      const adapter = await g.navigator.gpu.requestAdapter();
      return adapter?.info?.isFallbackAdapter ? "fallback adapter" : undefined;
    }
  } catch {
    // A probe that fails says nothing; the backend's own start decides.
  }
  return undefined;
}
