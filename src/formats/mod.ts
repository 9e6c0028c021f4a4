/**
 * File formats as bytes and typed arrays: safetensors, PyTorch's `.bin`/`.pth` state dicts (a
 * pickle in a ZIP, or torch's legacy stream) and NumPy's `.npy`/`.npz`. Nothing here touches
 * TensorFlow.js or the file system.
 *
 * @example
 * ```ts
 * import { decodeNpy, encodeNpy } from "@x/ddpm/formats";
 * const bytes = encodeNpy({ shape: [2], data: new Float64Array([1, 2]) }); // NumPy's .npy
 * const back = decodeNpy(bytes);
 * if (back.shape.join() !== "2" || back.data[1] !== 2) throw new Error();
 * ```
 *
 * @module
 */
export * from "./safetensors.ts";
export * from "./torch_pickle.ts";
export { MAX_ZIP_INFLATED_BYTES } from "./zip.ts";
export * from "./zip_writer.ts";
export * from "./npy.ts";
