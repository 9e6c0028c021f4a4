// A GPU's memory budget from the environment (WebGPU and libtensorflow do not report one): Deno
// only, so the descriptors that run in a browser take it as a parameter.
import { GPU_MEMORY_ENV, gpuMemoryBudget } from "../memory/gpu_limits.ts";

/** `DDPM_GPU_MEMORY` in bytes; undefined when unset or unreadable (no --allow-env). */
export function _gpuMemoryFromEnv(): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(GPU_MEMORY_ENV);
  } catch {
    return undefined; // no --allow-env: no budget known
  }
  return gpuMemoryBudget(text);
}
