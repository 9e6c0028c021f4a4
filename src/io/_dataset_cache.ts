// A cache of decoded datasets: one binary file per (source, resolution), so a second run skips
// decoding. Layout: magic "DDPMDS01", uint32 LE count, uint32 LE resolution, the SHA-256 of the
// key (32 bytes), then count * r * r * 3 bytes of RGB HWC images.
import { _writeFileAtomic } from "./_atomic_write.ts";
import { _ensureParent } from "./_fs.ts";

const MAGIC = new TextEncoder().encode("DDPMDS01");
const HEADER = 48;
// Bump when decoding changes (resize filter, compositing), so old caches are not reused.
const PIPELINE_VERSION = 1;

/** What identifies a cached dataset, and where caches live. */
export interface _CacheRequest {
  /** Anything JSON that changes when the source's content changes (paths, sizes, mtimes). */
  key: unknown;
  /** Readable start of the file name. */
  label: string;
  resolution: number;
  cacheDir?: string | false;
}

/** The default cache folder, or undefined when the environment cannot be read. */
export function _defaultCacheDir(): string | undefined {
  try {
    const env = (name: string) => Deno.env.get(name) || undefined;
    const own = env("DDPM_CACHE_DIR");
    if (own) return own;
    if (Deno.build.os === "windows") {
      const local = env("LOCALAPPDATA");
      return local ? `${local}\\ddpm` : undefined;
    }
    const xdg = env("XDG_CACHE_HOME");
    if (xdg) return `${xdg}/ddpm`;
    const home = env("HOME");
    return home ? `${home}/.cache/ddpm` : undefined;
  } catch {
    // Without --allow-env the loaders still work, only uncached.
    return undefined;
  }
}

/**
 * Returns the cached images for a request, or builds, caches and returns them. A cache that
 * cannot be read is rebuilt; one that cannot be written is reported once and skipped.
 */
export async function _cachedImages(
  req: _CacheRequest,
  build: () => Promise<Uint8Array>,
): Promise<{ images: Uint8Array; hit: boolean; path?: string }> {
  const dir = req.cacheDir === undefined ? _defaultCacheDir() : req.cacheDir;
  if (!dir) return { images: await build(), hit: false };
  const hash = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(JSON.stringify([PIPELINE_VERSION, req.resolution, req.key])),
    ),
  );
  const hex = Array.from(hash.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  const label = req.label.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
  const path = `${dir}/${label}-${req.resolution}px-${hex}.bin`;
  const cached = await readCache(path, hash, req.resolution);
  if (cached) return { images: cached, hit: true, path };
  const images = await build();
  const file = new Uint8Array(HEADER + images.length);
  const view = new DataView(file.buffer);
  file.set(MAGIC, 0);
  view.setUint32(8, images.length / (req.resolution * req.resolution * 3), true);
  view.setUint32(12, req.resolution, true);
  file.set(hash, 16);
  file.set(images, HEADER);
  try {
    await _ensureParent(path);
    await _writeFileAtomic(path, file);
  } catch (err) {
    console.warn(
      `ddpm: could not write the dataset cache ${path} (${
        err instanceof Error ? err.message : String(err)
      }); the next run decodes the images again. Set cacheDir or DDPM_CACHE_DIR to a writable folder.`,
    );
    return { images, hit: false };
  }
  return { images, hit: false, path };
}

async function readCache(
  path: string,
  hash: Uint8Array,
  resolution: number,
): Promise<Uint8Array | undefined> {
  let file: Uint8Array;
  try {
    file = await Deno.readFile(path);
  } catch {
    return undefined;
  }
  if (file.length < HEADER || MAGIC.some((b, i) => file[i] !== b)) return undefined;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const count = view.getUint32(8, true);
  if (view.getUint32(12, true) !== resolution) return undefined;
  if (hash.some((b, i) => file[16 + i] !== b)) return undefined;
  if (count === 0 || file.length !== HEADER + count * resolution * resolution * 3) return undefined;
  return file.subarray(HEADER);
}
