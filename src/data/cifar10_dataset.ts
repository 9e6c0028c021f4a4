/**
 * The CIFAR-10 dataset in its binary form, as downloaded from the University of Toronto
 * (`cifar-10-binary.tar.gz`, extracted to `cifar-10-batches-bin/`).
 *
 * @module
 */
import { _cifar10Files, _readCifar10File } from "./_cifar10_files.ts";
import { _cachedImages } from "./_dataset_cache.ts";
import { _resizeRgb, _toBytes } from "../images/_resize.ts";
import { DatasetError } from "./dataset_error.ts";
import type { LoadDatasetOptions } from "./dataset_options.ts";
import { createDataset, type Dataset } from "./in_memory_dataset.ts";

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;
const RECORD = 1 + PIXELS;

/** The images and labels of a CIFAR-10 binary batch. */
export interface Cifar10Batch {
  /** Number of records. */
  count: number;
  /** The images as bytes, `count * 32 * 32 * 3`, NHWC (the file stores CHW). */
  images: Uint8Array;
  /** Class labels 0-9, one per image. */
  labels: Uint8Array;
}

/**
 * Parses a CIFAR-10 binary batch: records of one label byte and 3,072 pixel bytes (the red,
 * green and blue 32x32 planes), reordered to HWC.
 *
 * @param bytes The file's contents (`data_batch_1.bin` holds 10,000 records).
 * @param name The file's name, for errors.
 * @returns The images and labels.
 * @throws {DatasetError} If the size is not a whole number of 3,073-byte records.
 *
 * @example One record whose red plane is all 255
 * ```ts
 * import { parseCifar10 } from "@x/ddpm/data";
 * const record = new Uint8Array(3073);
 * record[0] = 7;
 * record.fill(255, 1, 1025);
 * const { count, images, labels } = parseCifar10(record);
 * if (count !== 1 || labels[0] !== 7 || images[0] !== 255 || images[1] !== 0) throw new Error();
 * ```
 */
export function parseCifar10(bytes: Uint8Array, name = "the CIFAR-10 file"): Cifar10Batch {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DatasetError(
      `Cannot read ${name} as CIFAR-10: its ${bytes.length} bytes are not a whole number of ` +
        `${RECORD}-byte records (1 label + 3072 pixels); pass the binary version ` +
        `(cifar-10-binary.tar.gz: data_batch_1.bin ... test_batch.bin), not CIFAR-100 or Python`,
    );
  }
  const count = bytes.length / RECORD;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  const plane = SIDE * SIDE;
  for (let r = 0; r < count; r++) {
    const src = r * RECORD;
    labels[r] = bytes[src];
    const dst = r * PIXELS;
    for (let i = 0; i < plane; i++) {
      images[dst + i * 3] = bytes[src + 1 + i];
      images[dst + i * 3 + 1] = bytes[src + 1 + plane + i];
      images[dst + i * 3 + 2] = bytes[src + 1 + 2 * plane + i];
    }
  }
  return { count, images, labels };
}

/**
 * Loads CIFAR-10 from one binary batch file or from the `cifar-10-batches-bin` folder (its five
 * training batches, 50,000 images; `test_batch.bin` only when it is the sole batch). At a
 * resolution other than 32 the images are resized and the result cached.
 *
 * @param path A `.bin` batch file, or the folder holding the batches (or its parent).
 * @param opts Resolution, cache folder and progress callback.
 * @returns The images, with labels.
 * @throws {DatasetError} If the path is missing, holds no batches or a file is malformed.
 *
 * @example
 * ```ts
 * import { loadCifar10 } from "@x/ddpm/data";
 * // Writing the sample file needs --allow-write; the example only runs with it.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const dir = await Deno.makeTempDir();
 *   await Deno.writeFile(`${dir}/data_batch_1.bin`, new Uint8Array(2 * 3073));
 *   const data = await loadCifar10(dir, { resolution: 32 });
 *   if (data.size !== 2 || data.resolution !== 32) throw new Error();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export async function loadCifar10(path: string, opts: LoadDatasetOptions): Promise<Dataset> {
  const { resolution, onProgress } = opts;
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(
      `Cannot load CIFAR-10: resolution must be a positive integer, current value is ${resolution}`,
    );
  }
  const info = await Deno.stat(path).catch((err) => {
    if (err instanceof Deno.errors.NotFound) {
      throw new DatasetError(
        `Cannot load CIFAR-10 from "${path}": no such file or folder; download ` +
          `cifar-10-binary.tar.gz, extract it and pass the cifar-10-batches-bin folder`,
        { cause: err },
      );
    }
    throw err;
  });
  const files = info.isDirectory ? await _cifar10Files(path) : [path];
  if (files.length === 0) {
    throw new DatasetError(
      `Cannot load CIFAR-10 from "${path}": the folder holds no data_batch_*.bin or ` +
        `test_batch.bin; pass the extracted cifar-10-batches-bin folder`,
    );
  }
  const batches: Cifar10Batch[] = [];
  for (const file of files) batches.push(parseCifar10(await _readCifar10File(file), file));
  const count = batches.reduce((n, b) => n + b.count, 0);
  let native = batches[0].images;
  let labels = batches[0].labels;
  if (batches.length > 1) {
    native = new Uint8Array(count * PIXELS);
    labels = new Uint8Array(count);
    let offset = 0;
    for (const b of batches) {
      native.set(b.images, offset * PIXELS);
      labels.set(b.labels, offset);
      offset += b.count;
    }
  }
  if (resolution === SIDE) {
    onProgress?.(count, count);
    return createDataset(native, SIDE, { labels, source: path });
  }
  const stats = await Promise.all(files.map((f) => Deno.stat(f)));
  const key = {
    kind: "cifar10",
    files: files.map((f, i) => [
      Deno.realPathSync(f),
      stats[i].size,
      stats[i].mtime?.getTime(),
    ]),
  };
  const { images } = await _cachedImages(
    { key, label: "cifar10", resolution, cacheDir: opts.cacheDir },
    () => Promise.resolve(resizeAll(native, count, resolution, onProgress)),
  );
  return createDataset(images, resolution, { labels, source: path });
}

function resizeAll(
  native: Uint8Array,
  count: number,
  resolution: number,
  onProgress?: (done: number, total: number) => void,
): Uint8Array {
  const out = new Uint8Array(count * resolution * resolution * 3);
  for (let i = 0; i < count; i++) {
    const src = Float32Array.from(native.subarray(i * PIXELS, (i + 1) * PIXELS));
    out.set(
      _toBytes(_resizeRgb(src, SIDE, SIDE, resolution, resolution)),
      i * resolution * resolution * 3,
    );
    if (onProgress && (i % 1000 === 999 || i === count - 1)) onProgress(i + 1, count);
  }
  return out;
}
