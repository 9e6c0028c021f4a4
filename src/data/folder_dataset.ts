/**
 * Datasets from a folder of PNG and JPEG files.
 *
 * @module
 */
import { _showName } from "../_terminal_text.ts";
import { _cachedImages } from "./_dataset_cache.ts";
import { _decodeFiles } from "./_decode_files.ts";
import { _listImageFiles } from "./_walk_image_files.ts";
import { DatasetError } from "./dataset_error.ts";
import type { LoadDatasetOptions } from "./dataset_options.ts";
import { createDataset, type Dataset } from "./in_memory_dataset.ts";

/**
 * Lists the PNG and JPEG files under a folder, recursively, skipping hidden entries (names
 * starting with "."), sorted by path so that the order, and with it every seeded shuffle, is the
 * same on every machine. Symbolic links are followed while they stay inside the folder; a link
 * to a folder outside it (such as `ln -s / root`) is skipped with a warning, so the walk never
 * leaves the folder or loops. The walk stops with an error past {@linkcode MAX_WALK_ENTRIES}
 * entries or {@linkcode MAX_WALK_DEPTH} levels.
 *
 * @param dir The folder.
 * @returns Paths of the form `dir/sub/name.png`.
 * @throws {DatasetError} If `dir` does not exist, is not a folder, or is too large to walk.
 *
 * @example
 * ```ts
 * import { listImageFiles } from "@x/ddpm/data";
 * // Writing the sample folder needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   await Deno.mkdir(`${dir}/b`);
 *   for (const name of ["b/x.PNG", "a.jpg", "notes.txt", ".hidden.png"]) {
 *     await Deno.writeFile(`${dir}/${name}`, new Uint8Array());
 *   }
 *   const files = await listImageFiles(dir);
 *   if (files.join() !== `${dir}/a.jpg,${dir}/b/x.PNG`) throw new Error(files.join());
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export function listImageFiles(dir: string): Promise<string[]> {
  return _listImageFiles(dir, { maxEntries: MAX_WALK_ENTRIES, maxDepth: MAX_WALK_DEPTH });
}

/**
 * The most entries (files and folders, images or not) {@linkcode listImageFiles} visits in a
 * data folder: two million, twice ImageNet's training set, and far past what fits in memory
 * decoded. A folder that holds more is refused instead of being walked for hours.
 *
 * @example
 * ```ts
 * import { MAX_WALK_ENTRIES } from "@x/ddpm/data";
 * if (MAX_WALK_ENTRIES !== 2_000_000) throw new Error();
 * ```
 */
export const MAX_WALK_ENTRIES = 2_000_000;

/**
 * The deepest a data folder's subfolders may nest for {@linkcode listImageFiles}: 32 levels.
 *
 * @example
 * ```ts
 * import { MAX_WALK_DEPTH } from "@x/ddpm/data";
 * if (MAX_WALK_DEPTH !== 32) throw new Error();
 * ```
 */
export const MAX_WALK_DEPTH = 32;

/**
 * Loads every PNG and JPEG under a folder (see {@linkcode listImageFiles}) as square RGB
 * images of the given resolution: alpha on white, centre-cropped, resized. Unreadable images
 * are skipped with a warning naming each. Decoded images are cached, keyed by the files'
 * paths, sizes and modification times and the resolution, so a second run starts fast.
 *
 * @param dir The folder.
 * @param opts Resolution, cache folder and progress callback.
 * @returns The images in memory.
 * @throws {DatasetError} If the folder is missing or holds no usable image.
 *
 * @example
 * ```ts
 * import { Image } from "imagescript";
 * import { loadImageFolder } from "@x/ddpm/data";
 * // Writing the sample folder needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   await Deno.writeFile(`${dir}/red.png`, await new Image(8, 8).fill(0xff0000ff).encode());
 *   const data = await loadImageFolder(dir, { resolution: 4, cacheDir: false });
 *   if (data.size !== 1 || data.images[0] !== 255 || data.images[1] !== 0) throw new Error();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function loadImageFolder(dir: string, opts: LoadDatasetOptions): Promise<Dataset> {
  const { resolution, onProgress } = opts;
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(
      `Cannot load images: resolution must be a positive integer, current value is ${resolution}`,
    );
  }
  const files = await listImageFiles(dir);
  const root = dir.replace(/(.)[/\\]+$/, "$1");
  const noImages = () =>
    new DatasetError(
      `Cannot train on ${_showName(dir)}: it holds no usable PNG or JPEG image${
        files.length ? ` (all ${files.length} failed to decode)` : ""
      }; put .png/.jpg files in it (subfolders count), or pass a CIFAR-10 .bin file or "emoji"`,
    );
  if (files.length === 0) throw noImages();
  const stats = await Promise.all(files.map((f) => Deno.stat(f).catch(() => undefined)));
  const key = {
    kind: "folder",
    root: await Deno.realPath(dir),
    files: files.map((f, i) => [f.slice(root.length), stats[i]?.size, stats[i]?.mtime?.getTime()]),
  };
  const label = `folder-${root.split(/[/\\]/).pop() || "root"}`;
  const { images } = await _cachedImages(
    { key, label, resolution, cacheDir: opts.cacheDir },
    async () => {
      const out = await _decodeFiles(files, resolution, onProgress);
      if (out.decoded === 0) throw noImages();
      return out;
    },
  );
  return createDataset(images, resolution, { source: dir });
}
