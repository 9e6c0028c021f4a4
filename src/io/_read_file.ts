// Reading a whole input file, where a missing file is the user's mistake, not a bug.

/**
 * Reads `path`; when it does not exist, throws what `missing` makes of the NotFound error
 * (an error naming the file and what it should have been) instead of Deno's own.
 */
export async function _readFileOr(
  path: string,
  missing: (cause: Deno.errors.NotFound) => Error,
): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw missing(err);
    throw err;
  }
}
