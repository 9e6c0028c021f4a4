/**
 * Training datasets: a folder of images, CIFAR-10's binary batches, the emoji set, images held
 * in memory, and the shuffled batch order.
 *
 * @module
 */
export * from "./dataset_error.ts";
export * from "./dataset_options.ts";
export * from "./in_memory_dataset.ts";
export * from "./batch_indices.ts";
export * from "./folder_dataset.ts";
export * from "./cifar10_dataset.ts";
export * from "./emoji_dataset.ts";
export * from "./dataset.ts";
