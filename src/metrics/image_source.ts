/**
 * The images FID and IS are computed on: a folder of PNG/JPEG files (one per image, as
 * `deno task sample --out-dir` writes them) or CIFAR-10's binary batches, read in batches of
 * RGB bytes at their own size.
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";
import { _decodeRgba } from "../images/_decode_rgba.ts";
import { _readImageFile } from "../io/_read_image_file.ts";
import { _cifar10Files, _readCifar10File } from "../data/_cifar10_files.ts";
import { parseCifar10 } from "../data/cifar10_dataset.ts";

/** Consecutive images of one size, as RGB bytes (row-major HWC, image after image). */
export interface PixelBatch {
  /** `count * height * width * 3` bytes. */
  pixels: Uint8Array;
  /** Images in the batch. */
  count: number;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

/** A set of images, known by count before it is read. */
export interface ImageSource {
  /** What the source is, for messages: "312 images in samples/". */
  description: string;
  /** Number of images. */
  count: number;
  /**
   * Reads the images in order, at most `batchSize` per batch; a batch holds images of one size,
   * so a change of size starts a new batch.
   */
  batches(batchSize: number): AsyncGenerator<PixelBatch>;
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * Opens a folder of images (PNG or JPEG files directly inside it, in name order, as pytorch-fid
 * and torch-fidelity list them; alpha is dropped as PIL's `convert("RGB")` does), a CIFAR-10
 * binary batch (`data_batch_1.bin`, `test_batch.bin`) or the `cifar-10-batches-bin` folder (its
 * five training batches, 50,000 images, the set the paper's FID is measured against).
 *
 * @param path The folder or file.
 * @returns The source.
 * @throws {InputError} When the path does not exist or holds no images.
 *
 * @example
 * ```ts
 * import { openImageSource } from "./image_source.ts";
 * const err = await openImageSource("/nonexistent").catch((e) => e);
 * if (!String(err.message).includes("does not exist")) throw new Error(err.message);
 * ```
 */
export async function openImageSource(path: string): Promise<ImageSource> {
  const info = await Deno.stat(path).catch((err) => {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(`Cannot read images from ${_showName(path)}: it does not exist`, {
        cause: err,
      });
    }
    throw err;
  });
  if (info.isFile) {
    if (/\.bin$/i.test(path)) return cifarSource(path, [path]);
    throw new InputError(
      `Cannot read images from ${
        _showName(path)
      }: give a folder of PNG/JPEG images, a CIFAR-10 .bin ` +
        `batch or the cifar-10-batches-bin folder (or a .npz of statistics where accepted)`,
    );
  }
  const root = path.replace(/(.)[/\\]+$/, "$1");
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isFile && IMAGE_FILE.test(entry.name)) names.push(entry.name);
  }
  if (names.length) {
    // Code-point order, as Python's sorted() gives: zero-padded indices come out in order.
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return folderSource(root, names);
  }
  const batches = await _cifar10Files(root);
  if (batches.length) return cifarSource(root, batches);
  throw new InputError(
    `Cannot read images from ${
      _showName(path)
    }: the folder holds no .png or .jpg files and no CIFAR-10 ` +
      `batches (data_batch_*.bin)`,
  );
}

function folderSource(root: string, names: string[]): ImageSource {
  return {
    description: `${names.length} images in ${_showName(`${root}/`)}`,
    count: names.length,
    async *batches(batchSize: number): AsyncGenerator<PixelBatch> {
      let pending: Uint8Array[] = [];
      let size = { height: 0, width: 0 };
      const flush = (): PixelBatch => {
        const one = size.height * size.width * 3;
        const pixels = new Uint8Array(pending.length * one);
        pending.forEach((p, i) => pixels.set(p, i * one));
        const batch = { pixels, count: pending.length, ...size };
        pending = [];
        return batch;
      };
      for (const name of names) {
        const file = `${root}/${name}`;
        const image = await _decodeRgba(await _readImageFile(file), file);
        const { width, height } = image;
        if (pending.length && (width !== size.width || height !== size.height)) yield flush();
        size = { height, width };
        const rgba = image.data;
        const rgb = new Uint8Array(width * height * 3);
        for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
          rgb[q] = rgba[p];
          rgb[q + 1] = rgba[p + 1];
          rgb[q + 2] = rgba[p + 2];
        }
        pending.push(rgb);
        if (pending.length === batchSize) yield flush();
      }
      if (pending.length) yield flush();
    },
  };
}

async function cifarSource(where: string, files: string[]): Promise<ImageSource> {
  let count = 0;
  for (const f of files) {
    const { size } = await Deno.stat(f);
    // Refuses a file of the wrong size from its size, without reading it.
    if (size === 0 || size % 3073 !== 0 || size > 60_000 * 3073) await _readCifar10File(f);
    count += size / 3073;
  }
  return {
    description: `${count} CIFAR-10 images from ${_showName(where)}`,
    count,
    async *batches(batchSize: number): AsyncGenerator<PixelBatch> {
      const one = 32 * 32 * 3;
      for (const f of files) {
        const { images, count: n } = parseCifar10(await _readCifar10File(f), f);
        for (let start = 0; start < n; start += batchSize) {
          const end = Math.min(n, start + batchSize);
          yield {
            pixels: images.subarray(start * one, end * one),
            count: end - start,
            height: 32,
            width: 32,
          };
        }
      }
    },
  };
}
