/**
 * Image and dataset input/output: PNG grids, GIFs, image decoding, and the training datasets.
 *
 * @module
 */
export * from "../images/image.ts";
export * from "../images/png.ts";
export * from "../images/grid_pixels.ts";
export * from "../images/grid.ts";
export * from "./save_grid.ts";
export * from "../images/png_encode.ts";
export * from "../images/gif.ts";
export * from "../data/dataset_error.ts";
export * from "../data/dataset_options.ts";
export * from "../data/in_memory_dataset.ts";
export * from "../data/batch_indices.ts";
export * from "../data/folder_dataset.ts";
export * from "../data/cifar10_dataset.ts";
export * from "../data/emoji_dataset.ts";
export * from "../data/dataset.ts";
export * from "../formats/safetensors.ts";
export * from "./safetensors_file.ts";
export * from "../formats/torch_pickle.ts";
export * from "../diffusers/pretrained.ts";
export * from "../diffusers/save_diffusers.ts";
