// The hub names each file by a hash of its bytes (its ETag): the SHA-256 for LFS files, the git
// blob SHA-1 for the rest. Checking it before a blob is placed keeps a bad download out of the
// cache that Python shares.
import { createHash } from "node:crypto";

/** Hashes a file in 1 MiB reads, with `prefix` first (git hashes "blob <size>\0" + bytes). */
async function hashFile(path: string, algorithm: string, prefix = ""): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  using file = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}

/**
 * The hash the ETag names, as it is computed over the file, and its name; undefined when the
 * ETag is neither a SHA-256 nor a git SHA-1 (a mirror's own ETags), so nothing can be checked.
 */
export async function blobHash(
  path: string,
  etag: string,
): Promise<{ name: string; actual: string } | undefined> {
  if (/^[0-9a-f]{64}$/.test(etag)) {
    return { name: "SHA-256", actual: await hashFile(path, "sha256") };
  }
  if (/^[0-9a-f]{40}$/.test(etag)) {
    const size = (await Deno.stat(path)).size;
    return { name: "git SHA-1", actual: await hashFile(path, "sha1", `blob ${size}\0`) };
  }
  return undefined;
}
