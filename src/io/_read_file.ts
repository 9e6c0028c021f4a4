// Reading a whole input file, where a missing file is the user's mistake, not a bug.
import { LimitError } from "../errors.ts";
import { _showName } from "../_terminal_text.ts";

/**
 * Reads `path`; when it does not exist, throws what `missing` makes of the NotFound error
 * (an error naming the file and what it should have been) instead of Deno's own; a file over
 * `maxBytes` is refused with a LimitError before it is read.
 */
export async function _readFileOr(
  path: string,
  missing: (cause: Deno.errors.NotFound) => Error,
  maxBytes = Infinity,
): Promise<Uint8Array> {
  try {
    // The size is checked before reading: a sparse file can claim terabytes.
    const { size } = await Deno.stat(path);
    if (size > maxBytes) {
      throw new LimitError(
        `Cannot read ${_showName(path)}: it is ${size} bytes, over the cap of ${maxBytes}`,
      );
    }
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw missing(err);
    throw err;
  }
}
