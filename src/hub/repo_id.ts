/**
 * Hugging Face hub ids as the command lines take them: `owner/name`, optionally `@revision`.
 *
 * @module
 */

/** A repository on the hub and the revision (branch, tag or commit) to read. */
export interface HubRef {
  /** `owner/name`. */
  repoId: string;
  /** The branch, tag or commit hash; `main` when the id names none. */
  revision: string;
}

// The hub's own rule for names: letters, digits, `-`, `_`, `.`, not at either end as `-`/`.`,
// at most 96 characters, no `--` or `..` (the cache folder joins the parts with `--`).
const PART = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;

/** Whether `name` is a valid owner or repository name on the hub. */
function validPart(name: string): boolean {
  return PART.test(name) && !name.includes("--") && !name.includes("..") &&
    !name.endsWith(".git");
}

/**
 * Whether a revision or a file name is safe as a path below a cache folder: segments split by
 * `/`, none empty, `.` or `..`, no backslash, no control characters.
 *
 * @param path The revision (`main`, `refs/pr/1`) or file (`unet/config.json`).
 * @returns Whether it is safe.
 *
 * @example
 * ```ts
 * import { safeRelativePath } from "@x/ddpm/hub";
 * if (!safeRelativePath("unet/config.json") || safeRelativePath("../x")) throw new Error();
 * ```
 */
export function safeRelativePath(path: string): boolean {
  if (path === "" || path.length > 256 || path.includes("\\")) return false;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) < 32) return false;
  return path.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

/**
 * Parses `owner/name` or `owner/name@revision` as a hub id, or returns undefined when the text is
 * not one (a path such as `./x`, `/x`, `a/b/c`, `~/x`). Callers check for a local path first: a
 * path that exists wins over an id.
 *
 * @param text What the user gave.
 * @returns The repository and revision (`main` by default), or undefined.
 *
 * @example
 * ```ts
 * import { parseHubId } from "@x/ddpm/hub";
 * const ref = parseHubId("google/ddpm-cifar10-32@v1.0");
 * if (ref?.repoId !== "google/ddpm-cifar10-32" || ref.revision !== "v1.0") throw new Error();
 * if (parseHubId("./runs/x") !== undefined || parseHubId("a/b/c") !== undefined) throw new Error();
 * ```
 */
export function parseHubId(text: string): HubRef | undefined {
  const at = text.indexOf("@");
  const repoId = at < 0 ? text : text.slice(0, at);
  const revision = at < 0 ? "main" : text.slice(at + 1);
  const parts = repoId.split("/");
  if (parts.length !== 2 || !parts.every(validPart) || !safeRelativePath(revision)) {
    return undefined;
  }
  return { repoId, revision };
}
