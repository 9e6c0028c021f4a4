/**
 * TensorFlow.js backends: choosing one (`setBackend`), the oneDNN backend on its own, and the
 * registry of backend descriptors that the core asks what a backend can do.
 *
 * @example
 * ```ts
 * import { BACKEND_NAMES, setBackend } from "@x/ddpm/backends";
 * const name = await setBackend("cpu");
 * if (name !== "cpu" || !BACKEND_NAMES.includes("onednn")) throw new Error(name);
 * ```
 *
 * @module
 */
export * from "./set_backend.ts";
export * from "./onednn/backend.ts";
export * from "./onednn/precision.ts";
export { OneDnnUnavailableError } from "./onednn/_lib.ts";
export type {
  BackendCapabilities,
  BackendDescriptor,
  Precision,
} from "../kernels/backend_descriptor.ts";
export {
  backendCapabilities,
  backendDescriptor,
  registerBackendDescriptor,
} from "../kernels/backend_registry.ts";
