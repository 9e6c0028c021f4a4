/**
 * Safetensors files on disk: {@linkcode readSafetensors} and {@linkcode writeSafetensors} with
 * a path.
 *
 * @module
 */
import { asFormatError, InputError } from "../errors.ts";
import {
  type Float32TensorData,
  MAX_STATE_DICT_BYTES,
  readSafetensors,
  type SafetensorsContents,
  writeSafetensors,
} from "../formats/safetensors.ts";
import { _writeFileAtomic } from "./_atomic_write.ts";
import { _readFileOr } from "./_read_file.ts";

/**
 * Reads and parses a safetensors file from disk (needs `--allow-read`).
 *
 * @param path The file.
 * @returns Its tensors and metadata, as {@linkcode readSafetensors} gives them.
 * @throws {InputError} naming the path when the file is missing; a {@linkcode FormatError}
 *   naming it when it is malformed, with the parser's error as `cause`.
 *
 * @example A missing file is named in the error
 * ```ts
 * import { loadSafetensorsFile } from "@x/ddpm/io";
 * const err = await loadSafetensorsFile("/nonexistent/model.safetensors").catch((e) => e);
 * if (!String(err).includes("/nonexistent/model.safetensors")) throw new Error(String(err));
 * ```
 */
export async function loadSafetensorsFile(path: string): Promise<SafetensorsContents> {
  const bytes = await _readFileOr(
    path,
    (cause) => new InputError(`Cannot read safetensors file ${path}: it does not exist`, { cause }),
    MAX_STATE_DICT_BYTES,
  );
  try {
    return readSafetensors(bytes);
  } catch (err) {
    throw asFormatError(err, path);
  }
}

/**
 * Writes tensors as a safetensors file, through a temporary file and a rename so that a crash
 * never leaves a partial file under `path` (needs `--allow-write`).
 *
 * @param path The file to write.
 * @param tensors Tensors by name.
 * @param metadata Optional string-to-string `__metadata__`.
 * @returns Nothing, once the file is in place.
 *
 * @example
 * ```ts
 * import { loadSafetensorsFile, saveSafetensorsFile } from "@x/ddpm/io";
 * // Writing needs --allow-write; without it this example checks nothing.
 * if ((await Deno.permissions.query({ name: "write" })).state === "granted") {
 *   const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 *   await saveSafetensorsFile(path, new Map([["x", { shape: [], data: new Float32Array([7]) }]]));
 *   const { tensors } = await loadSafetensorsFile(path);
 *   if (tensors.get("x")!.data[0] !== 7) throw new Error("lost the value");
 *   await Deno.remove(path);
 * }
 * ```
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, Float32TensorData>,
  metadata?: Record<string, string>,
): Promise<void> {
  await _writeFileAtomic(path, writeSafetensors(tensors, metadata));
}
