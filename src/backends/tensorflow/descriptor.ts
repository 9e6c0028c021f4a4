/**
 * The "tensorflow" backend: native libtensorflow through tfjs-node, or CUDA through
 * tfjs-node-gpu, when one of them is installed next to the program.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendDescriptor } from "../../kernels/backend_descriptor.ts";
import { _activate, BackendUnavailableError } from "../_activate.ts";
import { _gpuMemoryFromEnv } from "../_gpu_memory_env.ts";
import { TFJS_VERSION } from "../_tfjs_internals.ts";
import { _tfjsNodeInstalled } from "./_tfjs_node_installed.ts";

/** The npm packages that provide the native "tensorflow" backend, best first. */
const TFJS_NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/**
 * The tensorflow backend, tried only when a package is installed with its native library (so
 * neither "auto" nor the name ever downloads one). Its memory
 * budget is `DDPM_GPU_MEMORY`, where set.
 *
 * @example
 * ```ts
 * import { tensorflowBackend } from "./descriptor.ts";
 * if (!tensorflowBackend.capabilities.nativeConvGradients) throw new Error("native kernels");
 * ```
 */
export const tensorflowBackend: BackendDescriptor = {
  name: "tensorflow",
  capabilities: {
    nativeMatMul: true,
    nativeConvGradients: true,
    precisions: ["fp32"],
    deviceMemory: true,
  },
  present: () => Boolean(tf.findBackend("tensorflow")) || TFJS_NODE_PACKAGES.some(isInstalled),
  async start(auto) {
    // Only an installed copy, named or not: importing a missing package makes Deno download
    // it, and without its install script it cannot load anyway.
    if (!(await loadTfjsNode(true))) {
      throw new BackendUnavailableError(
        'Cannot start backend "tensorflow": neither npm:@tensorflow/tfjs-node-gpu nor ' +
          "npm:@tensorflow/tfjs-node is installed with its native library. Install one with " +
          `\`deno add npm:@tensorflow/tfjs-node-gpu@${TFJS_VERSION}\` (CUDA 11.2, cuDNN 8.1) and ` +
          'allow its install script (`"allowScripts"` in deno.json), or use --backend wasm.',
      );
    }
    await _activate("tensorflow");
    return auto ? "tfjs-node is installed" : "";
  },
  isUnavailable: (err) => err instanceof BackendUnavailableError,
  memoryLimit: _gpuMemoryFromEnv,
};

/**
 * Loads tfjs-node(-gpu), which registers the "tensorflow" backend on import. With `onlyIfPresent`
 * a package is imported only when it is already installed in a `node_modules` folder.
 */
async function loadTfjsNode(onlyIfPresent: boolean): Promise<boolean> {
  if (tf.findBackend("tensorflow")) return true;
  for (const pkg of TFJS_NODE_PACKAGES) {
    if (onlyIfPresent && !isInstalled(pkg)) continue;
    try {
      // A computed specifier keeps Deno from resolving the package ahead of time.
      const specifier = `npm:${pkg}@${TFJS_VERSION}`;
      await import(specifier);
      if (tf.findBackend("tensorflow")) return true;
    } catch (err) {
      if (onlyIfPresent) {
        console.error(
          `ddpm: ${pkg} is installed but did not load (${firstLine(err)}). ` +
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
