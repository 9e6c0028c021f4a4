/**
 * The default dataset: the 3,786 emoji of Google's Noto set as 64x64 PNGs, from the npm package
 * `emoji-datasource-google`, so that a first training run needs no download of its own.
 *
 * @module
 */
import { _cachedImages } from "./_dataset_cache.ts";
import { _decodeFiles } from "./_decode_files.ts";
import { DatasetError } from "./dataset_error.ts";
import type { LoadDatasetOptions } from "./dataset_options.ts";
import { createDataset, type Dataset } from "./in_memory_dataset.ts";

const PACKAGE = "emoji-datasource-google";

/** Where the emoji PNGs lie on disk. */
export interface EmojiFolder {
  /** The folder of 64x64 PNGs (`img/google/64` inside the package). */
  dir: string;
  /** The package's version. */
  version: string;
}

/**
 * Installs (on first use, through Deno's npm cache) and locates the emoji images. Only this
 * function imports the package, so programs that never use the emoji never download its 74 MB.
 *
 * @returns The folder of PNGs and the package version.
 * @throws {DatasetError} If the package cannot be installed or located.
 *
 * @example
 * ```ts
 * import { emojiFolder } from "@x/ddpm/data";
 * const { dir } = await emojiFolder();
 * if (!dir.endsWith("img/google/64")) throw new Error(dir);
 * ```
 */
export async function emojiFolder(): Promise<EmojiFolder> {
  let version: string;
  try {
    const pkg = await import("emoji-datasource-google/package.json", { with: { type: "json" } });
    version = pkg.default.version;
  } catch (err) {
    throw new DatasetError(
      `Cannot load the emoji dataset: the npm package ${PACKAGE} could not be installed (${
        err instanceof Error ? err.message.split("\n")[0] : String(err)
      }); check the network connection to the npm registry, or pass a folder of images`,
      { cause: err },
    );
  }
  // The specifier is a literal so that `deno publish` rewrites it to the exact npm version,
  // as it does the import above; the package is installed by now, so it resolves to a file.
  const url = import.meta.resolve("emoji-datasource-google/package.json");
  if (!url.startsWith("file:")) {
    throw new DatasetError(
      `Cannot load the emoji dataset: ${PACKAGE} resolved to ${url}, not a local file; ` +
        `run with a local npm cache (the default) or pass a folder of images`,
    );
  }
  const pkgFile = decodeURIComponent(new URL(url).pathname);
  const base = Deno.build.os === "windows" ? pkgFile.replace(/^\/([A-Za-z]:)/, "$1") : pkgFile;
  return { dir: `${base.slice(0, base.lastIndexOf("/"))}/img/google/64`, version };
}

/**
 * Loads the emoji dataset at a resolution: each 64x64 PNG composited on white and resized.
 * The decoded images are cached per package version, subset and resolution.
 *
 * The subset `"faces"` keeps the 212 emoji of the "Smileys & Emotion" category and the hand
 * gestures, without skin-tone variants: round yellow faces, hearts and hands, a distribution
 * small and coherent enough for a few minutes of CPU training to end in recognisable pictures.
 *
 * @param opts Resolution, cache folder, progress callback, and the subset (default all).
 * @returns 3,786 images (for `emoji-datasource-google@16`), or 212 for `"faces"`.
 * @throws {DatasetError} If the package cannot be installed or holds no images.
 *
 * @example
 * ```ts ignore
 * import { loadEmoji } from "@x/ddpm/data";
 * const data = await loadEmoji({ resolution: 32 });
 * if (data.size !== 3786) throw new Error(String(data.size));
 * ```
 */
export async function loadEmoji(
  opts: LoadDatasetOptions & { subset?: EmojiSubset },
): Promise<Dataset> {
  const { resolution, onProgress } = opts;
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(
      `Cannot load the emoji: resolution must be a positive integer, current value is ${resolution}`,
    );
  }
  const { dir, version } = await emojiFolder();
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".png")) names.push(entry.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (names.length === 0) {
    throw new DatasetError(
      `Cannot load the emoji dataset: ${dir} holds no PNGs; ${PACKAGE}@${version} may be ` +
        `incomplete, so clear it from Deno's npm cache and run again`,
    );
  }
  names.sort();
  if (opts.subset === "faces") {
    const keep = await facesSubset(dir);
    names.splice(0, names.length, ...names.filter((n) => keep.has(n)));
  }
  const key = {
    kind: "emoji",
    package: PACKAGE,
    version,
    count: names.length,
    ...(opts.subset ? { subset: opts.subset } : {}),
  };
  const { images } = await _cachedImages(
    {
      key,
      label: `emoji-${opts.subset ? `${opts.subset}-` : ""}${version}`,
      resolution,
      cacheDir: opts.cacheDir,
    },
    async () => {
      const out = await _decodeFiles(names.map((n) => `${dir}/${n}`), resolution, onProgress);
      if (out.decoded === 0) {
        throw new DatasetError(`Cannot load the emoji dataset: no PNG in ${dir} could be decoded`);
      }
      return out;
    },
  );
  return createDataset(images, resolution, {
    source: opts.subset ? `emoji:${opts.subset}` : "emoji",
  });
}

/** A named part of the emoji dataset; see {@linkcode loadEmoji}. */
export type EmojiSubset = "faces";

/** The image files of the "faces" subset, from the package's own emoji.json. */
async function facesSubset(imageDir: string): Promise<Set<string>> {
  const jsonPath = `${imageDir.replace(/\/img\/google\/64$/, "")}/emoji.json`;
  let entries: { image: string; category: string; subcategory: string }[];
  try {
    entries = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (err) {
    throw new DatasetError(
      `Cannot load the emoji faces: ${jsonPath} could not be read (${(err as Error).message})`,
      { cause: err },
    );
  }
  return new Set(
    entries
      .filter((e) =>
        e.category === "Smileys & Emotion" ||
        (e.category === "People & Body" && e.subcategory.startsWith("hand"))
      )
      .map((e) => e.image),
  );
}
