/**
 * PyTorch state-dict files on disk: {@linkcode readTorchStateDict} with a path.
 *
 * @module
 */
import { asFormatError, FormatError, InputError } from "../errors.ts";
import { type HostTensor, MAX_STATE_DICT_BYTES } from "../formats/safetensors.ts";
import { readTorchStateDict } from "../formats/torch_pickle.ts";
import { _showName } from "../_terminal_text.ts";
import { _readFileOr } from "./_read_file.ts";

/**
 * Reads a `torch.save` state-dict file from disk (needs `--allow-read`).
 *
 * @param path The `.bin`/`.pt`/`.pth` file.
 * @returns The tensors by name, as {@linkcode readTorchStateDict} gives them.
 * @throws {InputError} naming the path when the file is missing; a {@linkcode FormatError}
 *   when it is malformed or unsafe, with the reader's error as `cause`.
 *
 * @example
 * ```ts
 * import { loadTorchStateDictFile } from "@x/ddpm/io";
 * const missing = await loadTorchStateDictFile("/nonexistent/model.bin").catch((e) => e);
 * if (!(missing instanceof Error)) throw new Error("a missing file loaded");
 * ```
 */
export async function loadTorchStateDictFile(path: string): Promise<Map<string, HostTensor>> {
  const bytes = await _readFileOr(
    path,
    (cause) =>
      new InputError(`Cannot read torch state dict ${_showName(path)}: it does not exist`, {
        cause,
      }),
    MAX_STATE_DICT_BYTES,
  );
  try {
    return readTorchStateDict(bytes);
  } catch (err) {
    throw err instanceof FormatError
      ? new FormatError(`${_showName(path)}: ${err.message}`, { cause: err })
      : asFormatError(err, _showName(path));
  }
}
