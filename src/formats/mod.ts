/**
 * File formats as bytes and typed arrays: safetensors and PyTorch's `.bin` state dicts (a
 * pickle in a ZIP). Nothing here touches TensorFlow.js or the file system.
 *
 * @module
 */
export * from "./safetensors.ts";
export * from "./torch_pickle.ts";
export { MAX_ZIP_INFLATED_BYTES } from "./zip.ts";
