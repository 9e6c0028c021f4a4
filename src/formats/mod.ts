/**
 * File formats as bytes and typed arrays: safetensors, PyTorch's `.bin`/`.pth` state dicts (a
 * pickle in a ZIP, or torch's legacy stream) and NumPy's `.npy`/`.npz`. Nothing here touches
 * TensorFlow.js or the file system.
 *
 * @module
 */
export * from "./safetensors.ts";
export * from "./torch_pickle.ts";
export { MAX_ZIP_INFLATED_BYTES } from "./zip.ts";
export * from "./zip_writer.ts";
export * from "./npy.ts";
