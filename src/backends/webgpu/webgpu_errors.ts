/**
 * Making WebGPU's errors visible. A WebGPU validation error (a pipeline over a device limit, a
 * buffer too large) does not throw: the dispatch is dropped and its output keeps zeros, which
 * training would take for real gradients. The device reports such errors as
 * `uncapturederror` events; this prints each kind once and keeps them for tests.
 *
 * @module
 */

/** The part of a GPUDevice used here. */
interface ErrorEventTarget {
  addEventListener(type: "uncapturederror", listener: (event: Event) => void): void;
}

const seen: string[] = [];
const watched = new WeakSet<object>();

/**
 * Starts reporting `device`'s uncaptured errors on stderr (each distinct message once), as
 * `ddpm: WebGPU error: ...`. Calling it again for the same device does nothing.
 *
 * @param device The GPUDevice TF.js's webgpu backend opened.
 *
 * @example
 * ```ts ignore
 * import * as tf from "@tensorflow/tfjs";
 * import { watchWebGpuErrors } from "./webgpu_errors.ts";
 * watchWebGpuErrors((tf.backend() as unknown as { device: GPUDevice }).device);
 * ```
 */
export function watchWebGpuErrors(device: ErrorEventTarget): void {
  if (watched.has(device)) return;
  watched.add(device);
  device.addEventListener("uncapturederror", (event: Event) => {
    const error = (event as Event & { error?: { message?: string } }).error;
    const message = String(error?.message ?? error).split("\n")[0];
    if (seen.includes(message)) return;
    seen.push(message);
    console.error(`ddpm: WebGPU error (results may be wrong): ${message}`);
  });
}

/**
 * The distinct WebGPU errors reported so far, oldest first.
 *
 * @returns A copy of the messages.
 *
 * @example
 * ```ts
 * import { webGpuErrors } from "./webgpu_errors.ts";
 * if (!Array.isArray(webGpuErrors())) throw new Error();
 * ```
 */
export function webGpuErrors(): string[] {
  return [...seen];
}
