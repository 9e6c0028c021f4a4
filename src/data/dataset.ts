/**
 * One entry point for training data: a folder of images, CIFAR-10, or the built-in emoji.
 *
 * @module
 */
import { _cifar10Files } from "./_cifar10_files.ts";
import { loadCifar10 } from "./cifar10_dataset.ts";
import { DatasetError } from "./dataset_error.ts";
import type { LoadDatasetOptions } from "./dataset_options.ts";
import { loadEmoji } from "./emoji_dataset.ts";
import { loadImageFolder } from "./folder_dataset.ts";
import type { Dataset } from "./in_memory_dataset.ts";

export { batchIndices } from "./batch_indices.ts";
export type { Dataset, GetBatchOptions } from "./in_memory_dataset.ts";
export type { LoadDatasetOptions } from "./dataset_options.ts";

/**
 * Loads training images from a source: `"emoji"` (the built-in set, see
 * {@linkcode loadEmoji}), `"emoji:faces"` (its faces, hearts and hands), a CIFAR-10 `.bin` file or the folder holding the batches (see
 * {@linkcode loadCifar10}), or any other folder, searched recursively for PNG and JPEG files
 * (see {@linkcode loadImageFolder}). Images come out square at `resolution`, on white where
 * transparent; decoded images are cached so a second run starts fast.
 *
 * @param source `"emoji"`, `"emoji:faces"`, a path to a CIFAR-10 batch or folder, or a
 *   folder of images.
 * @param opts Resolution, cache folder and progress callback.
 * @returns The images in memory.
 * @throws {DatasetError} If the source is missing, empty or in an unknown format.
 *
 * @example A missing folder is a DatasetError
 * ```ts
 * import { DatasetError, loadDataset } from "@x/ddpm";
 * const err = await loadDataset("./no/such/folder", { resolution: 32 }).catch((e) => e);
 * if (!(err instanceof DatasetError)) throw err;
 * ```
 */
export async function loadDataset(source: string, opts: LoadDatasetOptions): Promise<Dataset> {
  if (typeof source !== "string" || source === "") {
    throw new TypeError(
      `Cannot load a dataset from ${JSON.stringify(source)}: pass "emoji", a folder of ` +
        `images or a CIFAR-10 .bin file or folder`,
    );
  }
  if (source === "emoji") return await loadEmoji(opts);
  if (source === "emoji:faces") return await loadEmoji({ ...opts, subset: "faces" });
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new DatasetError(
      `Cannot load a dataset from "${source}": no such file or folder; pass a folder of ` +
        `PNG/JPEG images, a CIFAR-10 .bin file or folder, or "emoji" (the default)`,
      { cause: err },
    );
  }
  if (info.isFile) {
    if (/\.bin$/i.test(source)) return await loadCifar10(source, opts);
    throw new DatasetError(
      `Cannot load a dataset from "${source}": it is a single file; pass the folder that ` +
        `holds your images, or a CIFAR-10 .bin file`,
    );
  }
  if ((await _cifar10Files(source)).length > 0) return await loadCifar10(source, opts);
  return await loadImageFolder(source, opts);
}
