// Writing a file so that a crash or a full disk never leaves a half-written file under the
// final name: write a temporary sibling, then rename over the target (atomic on POSIX). Every
// writer of the library goes through here.

/**
 * Writes `data` to `path` through a temporary file in the same folder and a rename; with
 * `createParent`, creates the folder first.
 */
export async function _writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: { createParent?: boolean } = {},
): Promise<void> {
  if (opts.createParent) {
    const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
    if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  }
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
