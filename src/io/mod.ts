/**
 * Image and dataset input/output: PNG grids, GIFs, image decoding, and the training datasets.
 *
 * @module
 */
export * from "./image.ts";
export * from "./png.ts";
export * from "./grid_pixels.ts";
export * from "./grid.ts";
export * from "./save_grid.ts";
export * from "./png_encode.ts";
export * from "./gif.ts";
export * from "./dataset_error.ts";
export * from "./dataset_options.ts";
export * from "./in_memory_dataset.ts";
export * from "./batch_indices.ts";
export * from "./folder_dataset.ts";
export * from "./cifar10_dataset.ts";
export * from "./emoji_dataset.ts";
export * from "./dataset.ts";
export * from "./safetensors.ts";
export * from "./safetensors_file.ts";
export * from "./torch_pickle.ts";
export * from "./pretrained.ts";
export * from "./save_diffusers.ts";
