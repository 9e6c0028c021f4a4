/**
 * huggingface_hub's cache layout, so that both share downloads:
 *
 * ```text
 * <cache>/models--owner--name/
 *   blobs/<etag>                      the bytes, named by their ETag (an LFS file's SHA-256)
 *   blobs/<etag>.incomplete           a download in progress, resumed from its length
 *   refs/<revision>                   the commit hash a branch or tag pointed to
 *   snapshots/<commit>/<filename>     a relative symlink to ../../blobs/<etag>
 *   .no_exist/<commit>/<filename>     an empty file: the file is not in that commit
 * <cache>/.locks/models--owner--name/<etag>.lock
 * ```
 *
 * @module
 */

/** The cache's paths for one model repository. */
export interface RepoCache {
  /** `<cache>/models--owner--name`. */
  storage: string;
  /** `<cache>/.locks/models--owner--name`. */
  locks: string;
}

/**
 * The cache folders of a model repository: `models--owner--name`, as huggingface_hub names it.
 *
 * @param cacheDir The hub cache folder.
 * @param repoId `owner/name`.
 * @returns Its storage and lock folders.
 *
 * @example
 * ```ts
 * import { repoCache } from "@x/ddpm/hub";
 * const c = repoCache("/c", "google/ddpm-cifar10-32");
 * if (c.storage !== "/c/models--google--ddpm-cifar10-32") throw new Error(c.storage);
 * ```
 */
export function repoCache(cacheDir: string, repoId: string): RepoCache {
  const folder = ["models", ...repoId.split("/")].join("--");
  return { storage: `${cacheDir}/${folder}`, locks: `${cacheDir}/.locks/${folder}` };
}

/** Whether a path exists (following symlinks: a link to a missing blob does not). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw err;
  }
}

/** The commit a revision names in the cache: itself for a commit hash, else `refs/<revision>`. */
export async function cachedCommit(
  storage: string,
  revision: string,
): Promise<string | undefined> {
  if (/^[0-9a-f]{40}$/.test(revision)) return revision;
  try {
    return (await Deno.readTextFile(`${storage}/refs/${revision}`)).trim() || undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return undefined;
    }
    throw err;
  }
}

/** Writes a small file through a temporary name and a rename, so readers never see half of it. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** Records that `revision` (a branch or tag) points to `commit`; a commit hash needs no ref. */
export async function writeRef(storage: string, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  if ((await cachedCommit(storage, revision)) === commit) return;
  await writeAtomic(`${storage}/refs/${revision}`, commit);
}

/** Records that `filename` is not in `commit`, as huggingface_hub does (an empty file). */
export async function markMissing(
  storage: string,
  commit: string,
  filename: string,
): Promise<void> {
  const path = `${storage}/.no_exist/${commit}/${filename}`;
  if (!(await pathExists(path))) await writeAtomic(path, "");
}

/**
 * Points `snapshots/<commit>/<filename>` at `blobs/<etag>` with a relative symlink (made under a
 * temporary name, then renamed over any old one). Where symlinks are refused, copies the blob.
 */
export async function linkSnapshot(
  storage: string,
  commit: string,
  filename: string,
  etag: string,
): Promise<string> {
  const pointer = `${storage}/snapshots/${commit}/${filename}`;
  await Deno.mkdir(pointer.slice(0, pointer.lastIndexOf("/")), { recursive: true });
  // snapshots/<commit>/a/b.json is three folders below the storage folder.
  const target = `${"../".repeat(filename.split("/").length + 1)}blobs/${etag}`;
  const tmp = `${pointer}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.symlink(target, tmp);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw err;
    await Deno.copyFile(`${storage}/blobs/${etag}`, tmp);
  }
  await Deno.rename(tmp, pointer);
  return pointer;
}

const CACHEDIR_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n" +
  "# This folder is the Hugging Face hub cache; backup tools that honour\n" +
  "# https://bford.info/cachedir/ skip it.\n";

/** Writes `CACHEDIR.TAG` (the cache-directory standard) into the cache folder if it has none. */
export async function tagCacheDir(cacheDir: string): Promise<void> {
  const path = `${cacheDir}/CACHEDIR.TAG`;
  if (await pathExists(path)) return;
  try {
    await writeAtomic(path, CACHEDIR_TAG);
  } catch {
    // A courtesy to backup tools, never a reason to fail a download.
  }
}
