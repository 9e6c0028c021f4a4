/**
 * Where and how to reach the hub and its cache, from options or from huggingface_hub's
 * environment variables, so that Python and this library read one configuration.
 *
 * @module
 */
import { HubError } from "./hub_error.ts";

/** How far a download has come, reported while a file downloads. */
export interface DownloadProgress {
  /** `owner/name`. */
  repoId: string;
  /** The file in the repository, e.g. `unet/diffusion_pytorch_model.safetensors`. */
  filename: string;
  /** Bytes on disk so far, a resumed part included. */
  done: number;
  /** The file's size in bytes. */
  total: number;
}

/** Options of hub downloads; each one left out comes from the environment. */
export interface HubOptions {
  /** The hub's address. Default: `HF_ENDPOINT`, else `https://huggingface.co`. */
  endpoint?: string;
  /**
   * The cache folder. Default: `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else
   * `HF_HOME/hub`, else `XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
   */
  cacheDir?: string;
  /**
   * The access token sent as `Authorization: Bearer`, or `false` to send none. Default:
   * `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else the file `HF_TOKEN_PATH` (default
   * `HF_HOME/token`), else none.
   */
  token?: string | false;
  /** Use the cache only. Default: `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is 1/ON/YES/TRUE. */
  offline?: boolean;
  /** Appended to the error for a file missing from the cache offline, in place of the default. */
  offlineHint?: string;
  /** Called as bytes arrive (at most every 100 ms, and at the end). Default: nothing. */
  onProgress?: (progress: DownloadProgress) => void;
}

/** {@linkcode HubOptions} with every default filled in. */
export interface HubSettings {
  /** The hub's address, without a trailing slash. */
  endpoint: string;
  /** The cache folder, without a trailing slash. */
  cacheDir: string;
  /** The token, or undefined for none. */
  token?: string;
  /** Whether to use the cache only. */
  offline: boolean;
  /** See {@linkcode HubOptions.offlineHint}. */
  offlineHint?: string;
  /** See {@linkcode HubOptions.onProgress}. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Seconds to wait for a file's metadata (`HF_HUB_ETAG_TIMEOUT`, default 10). */
  metadataTimeout: number;
  /** Seconds a download may stall before it is retried (`HF_HUB_DOWNLOAD_TIMEOUT`, default 10). */
  downloadTimeout: number;
}

/** Reads one environment variable; one the permissions hide counts as unset. */
export type EnvReader = (name: string) => string | undefined;

function denoEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
}

const TRUE_VALUES = new Set(["1", "ON", "YES", "TRUE"]);

function expandHome(path: string, env: EnvReader): string {
  if (path !== "~" && !path.startsWith("~/")) return path;
  const home = env("HOME") ?? env("USERPROFILE");
  if (!home) {
    throw new HubError(
      "protocol",
      `Cannot find the Hugging Face cache: ${path} needs HOME; set HF_HUB_CACHE (or run with --allow-env)`,
    );
  }
  return home + path.slice(1);
}

/** `HF_HOME`: where huggingface_hub keeps its cache and token. */
function hfHome(env: EnvReader): string {
  const home = env("HF_HOME");
  if (home) return expandHome(home, env);
  return `${expandHome(env("XDG_CACHE_HOME") ?? "~/.cache", env)}/huggingface`;
}

function seconds(env: EnvReader, name: string): number {
  const n = Number(env(name) ?? 10);
  return Number.isFinite(n) && n > 0 ? n : 10;
}

function readTokenFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotCapable ||
      err instanceof Deno.errors.PermissionDenied
    ) return undefined;
    throw err;
  }
}

/** A token as huggingface_hub cleans it: line breaks removed, trimmed, empty means none. */
function cleanToken(token: string | undefined): string | undefined {
  return token?.replace(/[\r\n]/g, "").trim() || undefined;
}

/**
 * Fills in the options of hub downloads from the environment, with huggingface_hub's
 * variables and precedence (see {@linkcode HubOptions} for each).
 *
 * @param options What the caller set.
 * @param env Reads an environment variable (default `Deno.env.get`; unset without
 *   `--allow-env`).
 * @returns The settings.
 * @throws {HubError} when `HF_ENDPOINT` is not an http(s) URL or no cache folder can be found.
 *
 * @example The cache folder follows HF_HOME when HF_HUB_CACHE is unset
 * ```ts
 * import { hubSettings } from "@x/ddpm/hub";
 * const env: Record<string, string> = { HF_HOME: "/data/hf", HF_HUB_OFFLINE: "yes" };
 * const s = hubSettings({ token: false }, (name) => env[name]);
 * if (s.cacheDir !== "/data/hf/hub" || !s.offline || s.token !== undefined) throw new Error();
 * if (s.endpoint !== "https://huggingface.co") throw new Error(s.endpoint);
 * ```
 */
export function hubSettings(options: HubOptions = {}, env: EnvReader = denoEnv): HubSettings {
  const endpoint = (options.endpoint ?? env("HF_ENDPOINT") ?? "https://huggingface.co")
    .replace(/\/+$/, "");
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    // Reported below.
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new HubError("protocol", `HF_ENDPOINT must be an http(s) URL: got "${endpoint}"`);
  }
  const cacheDir = options.cacheDir ?? env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE");
  let token: string | undefined;
  if (options.token !== false) {
    token = cleanToken(options.token) ?? cleanToken(env("HF_TOKEN")) ??
      cleanToken(env("HUGGING_FACE_HUB_TOKEN"));
    if (token === undefined && options.token === undefined) {
      const path = env("HF_TOKEN_PATH");
      token = cleanToken(readTokenFile(path ? expandHome(path, env) : `${hfHome(env)}/token`));
    }
  }
  const offlineVar = env("HF_HUB_OFFLINE") ?? env("TRANSFORMERS_OFFLINE") ?? "";
  return {
    endpoint,
    cacheDir: (cacheDir ? expandHome(cacheDir, env) : `${hfHome(env)}/hub`).replace(/\/+$/, ""),
    token,
    offline: options.offline ?? TRUE_VALUES.has(offlineVar.toUpperCase()),
    offlineHint: options.offlineHint,
    onProgress: options.onProgress,
    metadataTimeout: seconds(env, "HF_HUB_ETAG_TIMEOUT"),
    downloadTimeout: seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT"),
  };
}
