/**
 * TensorFlow.js backends: choosing one (`setBackend`), and the oneDNN backend on its own.
 *
 * @module
 */
export * from "./set_backend.ts";
export * from "./onednn/backend.ts";
export { OneDnnUnavailableError } from "./onednn/_lib.ts";
