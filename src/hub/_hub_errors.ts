// The hub's answers as one-line errors that say what to do: by HTTP status and the hub's
// X-Error-Code, for an unreachable endpoint or a missing --allow-net host, and offline.
import { HubError } from "./hub_error.ts";
import type { HubSettings } from "./hub_settings.ts";

/** What is being downloaded, and from where: the context of every message. */
export interface Target {
  repoId: string;
  filename: string;
  revision: string;
  settings: HubSettings;
}

/** The file is not in the revision (a 404 with the repository's commit). */
export function notInCommit(t: Target, commit?: string): HubError {
  return new HubError(
    "entry-not-found",
    `${t.repoId} has no file ${t.filename} at revision ${t.revision}`,
    { commit },
  );
}

/** The error for a failed metadata or download response, by status and `X-Error-Code`. */
export function statusError(t: Target, response: Response): HubError {
  const code = response.headers.get("x-error-code");
  const commit = response.headers.get("x-repo-commit") ?? undefined;
  const s = response.status;
  const repoUrl = `${t.settings.endpoint}/${t.repoId}`;
  const tokenNote = t.settings.token
    ? "the token in HF_TOKEN (or the token file) has no access to it"
    : "set HF_TOKEN to an access token";
  if (code === "GatedRepo") {
    return new HubError(
      "unauthorized",
      `${t.repoId} is gated (${s}): accept its conditions at ${repoUrl} and ${
        t.settings.token ? "check that HF_TOKEN is a token of that account" : "set HF_TOKEN"
      }`,
    );
  }
  if (code === "RevisionNotFound") {
    return new HubError(
      "revision-not-found",
      `${t.repoId} has no revision "${t.revision}" (${s}): name a branch, tag or commit as owner/name@revision`,
    );
  }
  if (code === "EntryNotFound" || (s === 404 && commit !== undefined && code !== "RepoNotFound")) {
    return notInCommit(t, commit);
  }
  if (s === 401 || s === 403 || code === "RepoNotFound") {
    return new HubError(
      s === 404 ? "not-found" : "unauthorized",
      `${t.repoId} was not found on ${t.settings.endpoint} or is private or gated (${s}): ` +
        `check the id; if it is private or gated, ${tokenNote}`,
    );
  }
  if (s === 404) {
    return new HubError(
      "not-found",
      `${t.repoId}@${t.revision} was not found on ${t.settings.endpoint} (404): check the id and the revision`,
    );
  }
  if (s === 429 || s >= 500) {
    return new HubError(
      "network",
      `${t.settings.endpoint} answered ${s} for ${t.repoId}/${t.filename}: try again later, or ` +
        "set HF_HUB_OFFLINE=1 to use the cache only",
    );
  }
  return new HubError(
    "protocol",
    `${t.settings.endpoint} answered ${s} ${response.statusText} for ${t.repoId}/${t.filename}`,
  );
}

/** The endpoint cannot be reached, or `--allow-net` lacks its host (or its CDN's). */
export function unreachable(t: Target, err: unknown): HubError {
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    // Deno's message names the host: the endpoint, or the CDN a large file redirects to.
    const host = /"([^"]+)"/.exec(err.message)?.[1] ?? new URL(t.settings.endpoint).host;
    return new HubError(
      "network",
      `No network permission for ${host} (downloading ${t.repoId}/${t.filename}): add it to ` +
        "--allow-net (see the README's Permissions), or set HF_HUB_OFFLINE=1 to use the cache only",
      { cause: err },
    );
  }
  const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new HubError(
    "network",
    `Cannot reach HF_ENDPOINT ${t.settings.endpoint} for ${t.repoId}/${t.filename} (${why}); ` +
      "check the network, or set HF_HUB_OFFLINE=1 to use the cache only",
    { cause: err },
  );
}

/** Offline (or a command that does not download) and the file is not in the cache. */
export function offlineError(t: Target, storage: string): HubError {
  const missing = `${t.filename} of ${t.repoId}@${t.revision} is not in the cache (${storage})`;
  return new HubError(
    "offline",
    t.settings.offlineHint
      ? `${missing}; ${t.settings.offlineHint}`
      : `HF_HUB_OFFLINE is set and ${missing}; unset HF_HUB_OFFLINE to download it`,
  );
}
