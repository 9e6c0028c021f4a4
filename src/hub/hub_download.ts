/**
 * One file of a hub repository into the shared cache: huggingface_hub's `hf_hub_download`.
 *
 * @module
 */
import { blobHash } from "./_blob_hash.ts";
import { type FileMetadata, fileMetadata, headResolve } from "./_file_metadata.ts";
import { downloadToFile } from "./_http_download.ts";
import {
  cachedCommit,
  linkSnapshot,
  markMissing,
  pathExists,
  repoCache,
  tagCacheDir,
  writeRef,
} from "./hub_cache.ts";
import { HubError } from "./hub_error.ts";
import { type HubOptions, type HubSettings, hubSettings } from "./hub_settings.ts";
import { notInCommit, offlineError, statusError, type Target, unreachable } from "./_hub_errors.ts";
import { safeRelativePath } from "./repo_id.ts";

/** Options of {@linkcode hubDownload}: the revision, and how to reach the hub and its cache. */
export interface HubDownloadOptions extends HubOptions {
  /** The branch, tag or commit hash. Default `main`. */
  revision?: string;
}

/** A file in the cache. */
export interface HubFile {
  /** `snapshots/<commit>/<filename>` in the cache (a symlink to its blob). */
  path: string;
  /** The commit the revision resolved to. */
  commit: string;
  /** `<cache>/models--owner--name/snapshots/<commit>`: the repository as a folder. */
  snapshot: string;
}

const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** The file of `commit` in the cache, `"missing"` when the cache knows it is not there. */
async function fromCache(
  storage: string,
  commit: string | undefined,
  filename: string,
): Promise<HubFile | "missing" | undefined> {
  if (commit === undefined || !SAFE_NAME.test(commit)) return undefined;
  const snapshot = `${storage}/snapshots/${commit}`;
  if (await pathExists(`${snapshot}/${filename}`)) {
    return { path: `${snapshot}/${filename}`, commit, snapshot };
  }
  if (await pathExists(`${storage}/.no_exist/${commit}/${filename}`)) return "missing";
  return undefined;
}

function requestHeaders(settings: HubSettings): Headers {
  const headers = new Headers({ "accept-encoding": "identity", "user-agent": "ddpm (deno)" });
  if (settings.token) headers.set("authorization", `Bearer ${settings.token}`);
  return headers;
}

/** HEAD, then the blob (downloaded, checked, renamed into place) and the snapshot link. */
async function download(t: Target, storage: string, locks: string): Promise<HubFile> {
  const { repoId, filename, revision, settings } = t;
  const url = `${settings.endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${
    filename.split("/").map(encodeURIComponent).join("/")
  }`;
  const headers = requestHeaders(settings);
  let meta: FileMetadata | string;
  try {
    const { response, url: answered } = await headResolve(url, headers, settings.metadataTimeout);
    if (response.status >= 400) {
      const err = statusError(t, response);
      if (err.kind === "entry-not-found" && err.commit && SAFE_NAME.test(err.commit)) {
        await markMissing(storage, err.commit, filename);
        await writeRef(storage, revision, err.commit);
      }
      throw err;
    }
    meta = fileMetadata(response, answered);
  } catch (err) {
    if (err instanceof HubError && err.kind !== "network") throw err;
    // Unreachable or failing: a copy in the cache will do, as huggingface_hub does.
    const cached = await fromCache(storage, await cachedCommit(storage, revision), filename);
    if (cached === "missing") throw notInCommit(t);
    if (cached) return cached;
    throw err instanceof HubError ? err : unreachable(t, err);
  }
  if (typeof meta === "string" || !SAFE_NAME.test(meta.commit) || !SAFE_NAME.test(meta.etag)) {
    throw new HubError(
      "protocol",
      `${settings.endpoint} does not answer as the Hugging Face hub does for ${repoId}/${filename} (${
        typeof meta === "string" ? `no ${meta} header` : "a commit or ETag that is not a name"
      }): check HF_ENDPOINT`,
    );
  }
  const { commit, etag, size } = meta;
  const snapshot = `${storage}/snapshots/${commit}`;
  const pointer = `${snapshot}/${filename}`;
  await Deno.mkdir(`${storage}/blobs`, { recursive: true });
  await tagCacheDir(settings.cacheDir);
  await writeRef(storage, revision, commit);
  if (await pathExists(pointer)) return { path: pointer, commit, snapshot };

  const blob = `${storage}/blobs/${etag}`;
  await Deno.mkdir(locks, { recursive: true });
  // huggingface_hub takes the same flock on the same file, so the two never write one blob.
  using lock = await Deno.open(`${locks}/${etag}.lock`, { write: true, create: true });
  await lock.lock(true);
  try {
    if (!(await pathExists(blob))) {
      // A CDN's signed address must not receive the token; the hub's own addresses keep it.
      const getHeaders = new Headers(headers);
      if (new URL(meta.location).host !== new URL(url).host) getHeaders.delete("authorization");
      const incomplete = `${blob}.incomplete`;
      const what = `${repoId}/${filename}`;
      try {
        await downloadToFile({
          url: meta.location,
          headers: getHeaders,
          path: incomplete,
          size,
          idleTimeout: settings.downloadTimeout,
          onBytes: (done) => settings.onProgress?.({ repoId, filename, done, total: size }),
          statusError: (response) => statusError(t, response),
          what,
        });
      } catch (err) {
        throw err instanceof HubError ? err : unreachable(t, err);
      }
      const hash = await blobHash(incomplete, etag);
      if (hash && hash.actual !== etag) {
        await Deno.remove(incomplete);
        throw new HubError(
          "integrity",
          `${what}: the downloaded bytes have ${hash.name} ${hash.actual}, not ${etag} as the hub ` +
            "says; nothing was kept, run again to download it afresh",
        );
      }
      await Deno.rename(incomplete, blob);
    }
    return { path: await linkSnapshot(storage, commit, filename, etag), commit, snapshot };
  } finally {
    await lock.unlock();
  }
}

/**
 * Downloads one file of a model repository on the Hugging Face hub into huggingface_hub's cache
 * (see `hub_cache.ts` for the layout), or finds it there: a commit hash already in the cache is
 * used without asking the hub; a branch or tag is resolved with one HEAD request, and when the hub
 * cannot be reached the cached copy of the revision serves. LFS files are checked against their
 * SHA-256 (other files against their git SHA-1) before they are renamed into place; a cut
 * download resumes from its `.incomplete` file with a Range request. Needs `--allow-net` for the
 * endpoint (and for LFS files its CDN), `--allow-read` and `--allow-write` for the cache,
 * `--allow-env` for the settings.
 *
 * @param repoId `owner/name`.
 * @param filename The file's path in the repository, e.g. `unet/config.json`.
 * @param options The revision and the hub settings (defaults from the environment).
 * @returns Where the file is, and the commit.
 * @throws {HubError} naming the repository and file: no access (`HF_TOKEN`), not found,
 *   unreachable (`HF_ENDPOINT`, `HF_HUB_OFFLINE`), offline and not cached, a hash mismatch.
 *
 * @example Offline, a file not in the cache is an error naming HF_HUB_OFFLINE
 * ```ts
 * import { hubDownload } from "@x/ddpm/hub";
 * const cacheDir = await Deno.makeTempDir();
 * const err = await hubDownload("google/ddpm-cifar10-32", "config.json", {
 *   cacheDir,
 *   offline: true,
 * }).catch((e) => e);
 * if (err.kind !== "offline" || !err.message.includes("HF_HUB_OFFLINE")) throw err;
 * await Deno.remove(cacheDir, { recursive: true });
 * ```
 */
export async function hubDownload(
  repoId: string,
  filename: string,
  options: HubDownloadOptions = {},
): Promise<HubFile> {
  const revision = options.revision ?? "main";
  if (!safeRelativePath(revision)) {
    throw new HubError("protocol", `Invalid revision: "${revision}"`);
  }
  if (!safeRelativePath(filename)) {
    throw new HubError("protocol", `Invalid file name: "${filename}"`);
  }
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repoId) || repoId.includes("..")) {
    throw new HubError("protocol", `Invalid repository id: "${repoId}" (expected owner/name)`);
  }
  const settings = hubSettings(options);
  const t: Target = { repoId, filename, revision, settings };
  const { storage, locks } = repoCache(settings.cacheDir, repoId);
  try {
    const commit = await cachedCommit(storage, revision);
    // A commit never changes: what the cache holds of it is final. A branch may have moved.
    if (settings.offline || commit === revision) {
      const cached = await fromCache(storage, commit, filename);
      if (cached === "missing") throw notInCommit(t, commit);
      if (cached) return cached;
      if (settings.offline) throw offlineError(t, storage);
    }
    return await download(t, storage, locks);
  } catch (err) {
    throw scrub(err, settings.token);
  }
}

/** The error with every copy of the token in its message replaced, so that it is never shown. */
function scrub(err: unknown, token: string | undefined): unknown {
  if (!token || !(err instanceof Error) || !err.message.includes(token)) return err;
  const message = err.message.replaceAll(token, "***");
  return err instanceof HubError
    ? new HubError(err.kind, message, { commit: err.commit })
    : new HubError("network", message);
}
