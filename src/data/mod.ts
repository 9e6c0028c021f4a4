/**
 * Training datasets: a folder of images, CIFAR-10's binary batches, the emoji set, images held
 * in memory, and the shuffled batch order.
 *
 * @example
 * ```ts
 * import { batchIndices } from "@x/ddpm/data";
 * const batch = batchIndices(10, 4, 0, 0); // 4 of 10 images, shuffled by seed 0
 * if (batch.length !== 4 || new Set(batch).size !== 4) throw new Error(batch.join());
 * ```
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
