/**
 * Datasets from a folder of PNG and JPEG files.
 *
 * @module
 */
import { _cachedImages } from "./_dataset_cache.ts";
import { _decodeFiles } from "./_decode_files.ts";
import { DatasetError } from "./dataset_error.ts";
import type { LoadDatasetOptions } from "./dataset_options.ts";
import { createDataset, type Dataset } from "./in_memory_dataset.ts";

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * Lists the PNG and JPEG files under a folder, recursively, following symbolic links and
 * skipping hidden entries (names starting with "."), sorted by path so that the order, and
 * with it every seeded shuffle, is the same on every machine.
 *
 * @param dir The folder.
 * @returns Paths of the form `dir/sub/name.png`.
 * @throws {DatasetError} If `dir` does not exist or is not a folder.
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
export async function listImageFiles(dir: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new DatasetError(
        `Cannot load images from "${dir}": no such folder; pass a folder of PNG/JPEG images, ` +
          `a CIFAR-10 .bin file or folder, or "emoji"`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!info.isDirectory) {
    throw new DatasetError(`Cannot load images from "${dir}": it is a file, not a folder`);
  }
  const root = dir.replace(/(.)[/\\]+$/, "$1");
  const found: string[] = [];
  const visited = new Set<string>();
  const walk = async (folder: string): Promise<void> => {
    const real = await Deno.realPath(folder);
    if (visited.has(real)) return; // a symbolic link loop
    visited.add(real);
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(folder)) entries.push(entry);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = `${folder}/${entry.name}`;
      let isDir = entry.isDirectory;
      let isFile = entry.isFile;
      if (entry.isSymlink) {
        const target = await Deno.stat(path).catch(() => undefined);
        isDir = target?.isDirectory ?? false;
        isFile = target?.isFile ?? false;
      }
      if (isDir) await walk(path);
      else if (isFile && IMAGE_FILE.test(entry.name)) found.push(path);
    }
  };
  await walk(root);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

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
      `Cannot train on "${dir}": it holds no usable PNG or JPEG image${
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
