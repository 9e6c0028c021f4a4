// A cache of decoded datasets: one binary file per (source, resolution), so a second run skips
// decoding. Layout: magic "DDPMDS02", uint32 LE count, uint32 LE resolution, the SHA-256 of the
// key (32 bytes), uint32 LE length of the skipped list, then count * r * r * 3 bytes of RGB HWC
// images, then the files skipped when it was built, as UTF-8 JSON (so a cached run still warns).
import { _escapeControls, _showName } from "../_terminal_text.ts";
import { _writeFileAtomic } from "../io/_atomic_write.ts";

const MAGIC = new TextEncoder().encode("DDPMDS02");
const HEADER = 52;
const MAX_NAMED = 5;

/** What a build produced: the images, and the files it skipped as unreadable. */
export interface _Built {
  images: Uint8Array;
  skipped?: string[];
}
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
  buildImages: () => Promise<Uint8Array | _Built>,
): Promise<{ images: Uint8Array; hit: boolean; path?: string; skipped: string[] }> {
  const build = async (): Promise<Required<_Built>> => {
    const out = await buildImages();
    return out instanceof Uint8Array ? { images: out, skipped: [] } : { skipped: [], ...out };
  };
  const dir = req.cacheDir === undefined ? _defaultCacheDir() : req.cacheDir;
  if (!dir) return { ...(await build()), hit: false };
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
  if (cached) {
    const { skipped } = cached;
    if (skipped.length) {
      const named = skipped.slice(0, MAX_NAMED).map(_showName).join(", ");
      const more = skipped.length > MAX_NAMED ? ` and ${skipped.length - MAX_NAMED} more` : "";
      console.warn(
        `ddpm: skipping ${skipped.length} unreadable image(s), as when the cache was built: ` +
          `${named}${more}`,
      );
    }
    return { images: cached.images, hit: true, path, skipped };
  }
  const { images, skipped } = await build();
  const list = new TextEncoder().encode(JSON.stringify(skipped));
  const file = new Uint8Array(HEADER + images.length + list.length);
  const view = new DataView(file.buffer);
  file.set(MAGIC, 0);
  view.setUint32(8, images.length / (req.resolution * req.resolution * 3), true);
  view.setUint32(12, req.resolution, true);
  file.set(hash, 16);
  view.setUint32(48, list.length, true);
  file.set(images, HEADER);
  file.set(list, HEADER + images.length);
  try {
    await _writeFileAtomic(path, file, { createParent: true });
  } catch (err) {
    console.warn(
      `ddpm: could not write the dataset cache ${_showName(path)} (${
        _escapeControls(err instanceof Error ? err.message : String(err))
      }); the next run decodes the images again. Set cacheDir or DDPM_CACHE_DIR to a writable folder.`,
    );
    return { images, hit: false, skipped };
  }
  return { images, hit: false, path, skipped };
}

async function readCache(
  path: string,
  hash: Uint8Array,
  resolution: number,
): Promise<Required<_Built> | undefined> {
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
  const end = HEADER + count * resolution * resolution * 3;
  if (count === 0 || file.length !== end + view.getUint32(48, true)) return undefined;
  let skipped: unknown;
  try {
    skipped = JSON.parse(new TextDecoder().decode(file.subarray(end)));
  } catch {
    return undefined;
  }
  if (!Array.isArray(skipped) || skipped.some((s) => typeof s !== "string")) return undefined;
  return { images: file.subarray(HEADER, end), skipped };
}
