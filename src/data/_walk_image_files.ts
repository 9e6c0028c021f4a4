// Walking a data folder for its image files: inside the folder only, and bounded, so that a
// link such as `ln -s / root` or a folder of millions of entries cannot send it over the whole
// file system.
import { _showName } from "../_terminal_text.ts";
import { DatasetError } from "./dataset_error.ts";

const IMAGE_FILE = /\.(png|jpe?g)$/i;

/**
 * The walk behind `listImageFiles`, its limits given: image files under `dir`, sorted, following
 * symbolic links only while they stay inside `dir`.
 */
export async function _listImageFiles(
  dir: string,
  limits: { maxEntries: number; maxDepth: number },
): Promise<string[]> {
  const { maxEntries, maxDepth } = limits;
  const shown = _showName(dir);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new DatasetError(
        `Cannot load images from ${shown}: no such folder; pass a folder of PNG/JPEG images, ` +
          `a CIFAR-10 .bin file or folder, or "emoji"`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!info.isDirectory) {
    throw new DatasetError(`Cannot load images from ${shown}: it is a file, not a folder`);
  }
  const root = dir.replace(/(.)[/\\]+$/, "$1");
  const realRoot = await Deno.realPath(root);
  const inside = (real: string) =>
    real === realRoot || real.startsWith(realRoot.endsWith("/") ? realRoot : `${realRoot}/`);
  const found: string[] = [];
  const visited = new Set<string>();
  const outside: string[] = [];
  let entriesSeen = 0;
  const walk = async (folder: string, real: string, depth: number): Promise<void> => {
    if (visited.has(real)) return; // reached again through a link inside the folder
    visited.add(real);
    if (depth > maxDepth) {
      throw new DatasetError(
        `Cannot load images from ${shown}: its folders nest deeper than ${maxDepth} levels ` +
          `(at ${_showName(folder)}); pass a shallower folder`,
      );
    }
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(folder)) {
      if (++entriesSeen > maxEntries) {
        throw new DatasetError(
          `Cannot load images from ${shown}: it holds more than ${maxEntries} entries; ` +
            `pass a smaller folder`,
        );
      }
      entries.push(entry);
    }
    // In name order, so that a folder reached twice is always listed under the same path.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) {
        await walk(path, real === "/" ? `/${entry.name}` : `${real}/${entry.name}`, depth + 1);
      } else if (entry.isSymlink) {
        const target = await Deno.realPath(path).catch(() => undefined);
        const stat = target ? await Deno.stat(target).catch(() => undefined) : undefined;
        if (!target || !stat) continue; // a dangling link
        if (stat.isDirectory) {
          if (inside(target)) await walk(path, target, depth + 1);
          else outside.push(path);
        } else if (stat.isFile && IMAGE_FILE.test(entry.name)) found.push(path);
      } else if (entry.isFile && IMAGE_FILE.test(entry.name)) found.push(path);
    }
  };
  await walk(root, realRoot, 0);
  if (outside.length) {
    const named = outside.slice(0, 3).map(_showName).join(", ");
    console.warn(
      `ddpm: not following ${outside.length} link(s) to folders outside ${shown}: ${named}` +
        `${outside.length > 3 ? ", ..." : ""}; pass such a folder itself, or copy it in`,
    );
  }
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
