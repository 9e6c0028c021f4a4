/**
 * NumPy's `.npy` format for float arrays, and `.npz` archives of them (`np.savez`).
 *
 * @module
 */
import { LimitError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";
import { openZip } from "./zip.ts";
import { writeZip } from "./zip_writer.ts";

/** A float array with a shape, as a `.npy` file holds it; data row-major (C order). */
export interface NpyArray {
  /** Dimensions; [] for a scalar. */
  shape: number[];
  /** The values, row-major, as float64. */
  data: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

function fail(msg: string): never {
  throw new TypeError(`Cannot read .npy: ${msg}`);
}

/**
 * Encodes a float64 array as a `.npy` file (format 1.0, `'<f8'`, C order), its header padded
 * to 64 bytes as NumPy writes it.
 *
 * @param array The shape and values.
 * @returns The file's bytes.
 * @throws {RangeError} When the values do not fill the shape.
 *
 * @example
 * ```ts
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * const back = decodeNpy(encodeNpy({ shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) }));
 * if (back.shape.join() !== "2,2" || back.data[3] !== 4) throw new Error();
 * ```
 */
export function encodeNpy(array: NpyArray): Uint8Array {
  const { shape, data } = array;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(
      `Cannot encode .npy: ${data.length} values do not fill the shape [${shape}]`,
    );
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 4 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(MAGIC.length + 4 + header.length + data.length * 8);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const body = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < data.length; i++) body.setFloat64(i * 8, data[i], true);
  return out;
}

/**
 * Decodes a `.npy` file of floats (`f2`, `f4` or `f8`, either byte order, C or Fortran order,
 * format 1.0 to 3.0) to float64 in C order.
 *
 * @param bytes The file's bytes.
 * @returns The shape and values.
 * @throws {TypeError} When the file is not a `.npy` of floats, or is truncated.
 *
 * @example
 * ```ts
 * import { decodeNpy } from "./npy.ts";
 * let message = "";
 * try {
 *   decodeNpy(new Uint8Array(4));
 * } catch (err) {
 *   message = (err as Error).message;
 * }
 * if (!message.includes(".npy")) throw new Error(message);
 * ```
 */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  return decodeNpyWithin(bytes, () => {});
}

// decodeNpy, calling `allocate` with the float64 bytes the array takes before allocating them.
function decodeNpyWithin(bytes: Uint8Array, allocate: (bytes: number) => void): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("no \\x93NUMPY magic");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  let start: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("truncated header");
    headerLength = view.getUint32(8, true);
    start = 12;
  } else {
    fail(`format version ${major}.${bytes[7]} is not supported`);
  }
  if (start + headerLength > bytes.length) fail("truncated header");
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr'\s*:\s*'([<>|=])f([248])'/.exec(header);
  if (!descr) {
    const found = /'descr'\s*:\s*('[^']*'|[^,}]*)/.exec(header)?.[1] ?? "none";
    fail(`dtype ${found} is not a float (f2, f4 or f8)`);
  }
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!fortran || !shapeText) {
    fail(`header ${JSON.stringify(header.trim())} lacks fortran_order or shape`);
  }
  const shape = shapeText[1].split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`bad shape (${shapeText[1]})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = Number(descr[2]);
  const little = descr[1] !== ">";
  const offset = start + headerLength;
  if (offset + count * size > bytes.length) {
    fail(
      `shape [${shape}] needs ${count * size} bytes of data, the file has ${bytes.length - offset}`,
    );
  }
  allocate(count * 8);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const at = offset + i * size;
    data[i] = size === 8
      ? view.getFloat64(at, little)
      : size === 4
      ? view.getFloat32(at, little)
      : view.getFloat16(at, little);
  }
  if (fortran[1] === "True" && shape.length > 1) return { shape, data: fromFortran(data, shape) };
  return { shape, data };
}

// Column-major to row-major: the first index varies fastest in the source.
function fromFortran(src: Float64Array, shape: number[]): Float64Array {
  const out = new Float64Array(src.length);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let k = 0; k < src.length; k++) {
    let dst = 0;
    for (let d = 0; d < rank; d++) dst = dst * shape[d] + index[d];
    out[dst] = src[k];
    for (let d = 0; d < rank; d++) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/**
 * The most bytes {@linkcode readNpz} spends by default on one archive (1 GiB): the entries it
 * inflates plus the float64 arrays it makes of them. FID statistics of 2048 features take 32 MiB.
 *
 * @example
 * ```ts
 * import { MAX_NPZ_BYTES } from "./npy.ts";
 * if (MAX_NPZ_BYTES !== 2 ** 30) throw new Error();
 * ```
 */
export const MAX_NPZ_BYTES = 2 ** 30;

/** Options of {@linkcode readNpz}. */
export interface ReadNpzOptions {
  /** The arrays to read, without `.npy`; others are not inflated or decoded. Default: all. */
  names?: readonly string[];
  /**
   * The most bytes to spend, counting the inflated size of deflated entries (as the archive
   * declares it, before inflating any) and the float64 arrays (before allocating each).
   * Default {@linkcode MAX_NPZ_BYTES}.
   */
  maxBytes?: number;
}

/**
 * Reads a `.npz` archive (as `np.savez` or `np.savez_compressed` write it) of float arrays.
 * Sizes are checked before they are spent: the declared inflated sizes of the entries asked
 * for, summed, before any is inflated (each also within the ZIP reader's per-entry cap), then
 * each array's float64 size, from its header, before it is allocated.
 *
 * @param bytes The archive's bytes.
 * @param opts Which arrays to read, and the cap on what reading them may cost.
 * @returns The arrays by name, without the `.npy` suffix (those of `names` that exist).
 * @throws {TypeError} or {RangeError} When the archive or an array is malformed.
 * @throws {LimitError} When reading the arrays would cost more than `maxBytes`.
 *
 * @example
 * ```ts
 * import { readNpz, writeNpz } from "./npy.ts";
 * const bytes = writeNpz({ mu: { shape: [2], data: new Float64Array([1, 2]) } });
 * if (readNpz(bytes).get("mu")?.data[1] !== 2) throw new Error();
 * ```
 */
export function readNpz(bytes: Uint8Array, opts: ReadNpzOptions = {}): Map<string, NpyArray> {
  const { names, maxBytes = MAX_NPZ_BYTES } = opts;
  const zip = openZip(bytes);
  const wanted = [...zip.entries.values()].filter((e) =>
    e.name.endsWith(".npy") && (!names || names.includes(e.name.slice(0, -4)))
  );
  let spent = 0;
  const spend = (name: string, n: number, what: string) => {
    spent += n;
    if (spent > maxBytes) {
      throw new LimitError(
        `Cannot read ${_showName(name)} from the .npz: ${what} brings the total to ${spent} ` +
          `bytes, over the cap of ${maxBytes}`,
      );
    }
  };
  for (const e of wanted) {
    if (e.method !== 0) spend(e.name, e.size, `its ${e.size} bytes once inflated`);
  }
  const out = new Map<string, NpyArray>();
  for (const { name } of wanted) {
    try {
      out.set(
        name.slice(0, -4),
        decodeNpyWithin(zip.read(name), (n) => spend(name, n, `its ${n} bytes as float64`)),
      );
    } catch (err) {
      if (err instanceof TypeError) {
        throw new TypeError(`${_showName(name)}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
  return out;
}

/**
 * Writes float64 arrays as a `.npz` archive of stored entries `<name>.npy`, as `np.savez`
 * does; NumPy's `np.load` reads it.
 *
 * @param arrays The arrays by name.
 * @returns The archive's bytes.
 *
 * @example
 * ```ts
 * import { writeNpz } from "./npy.ts";
 * const bytes = writeNpz({ x: { shape: [], data: new Float64Array([3]) } });
 * if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new Error("not a ZIP");
 * ```
 */
export function writeNpz(arrays: Record<string, NpyArray>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, array] of Object.entries(arrays)) entries[`${name}.npy`] = encodeNpy(array);
  return writeZip(entries);
}
