/**
 * The error of a download from the Hugging Face hub that the user can act on.
 *
 * @module
 */
import { InputError } from "../errors.ts";

/**
 * What went wrong with a hub download: `unauthorized` (401/403: gated or private, set
 * `HF_TOKEN`), `not-found` (the repository), `revision-not-found`, `entry-not-found` (the file
 * in an existing repository), `network` (the endpoint is unreachable, or answered 5xx),
 * `offline` (`HF_HUB_OFFLINE` is set and the file is not in the cache), `integrity` (the bytes do
 * not match their hash or size), `protocol` (the server does not speak the hub's protocol).
 */
export type HubErrorKind =
  | "unauthorized"
  | "not-found"
  | "revision-not-found"
  | "entry-not-found"
  | "network"
  | "offline"
  | "integrity"
  | "protocol";

/**
 * A hub download that failed for a reason outside the program: a missing repository or file, no
 * access, no network. An {@linkcode InputError}, so the command lines exit with code 2. Its
 * message never holds the token.
 *
 * @example
 * ```ts
 * import { HubError } from "@x/ddpm/hub";
 * import { InputError } from "@x/ddpm";
 * const err = new HubError("entry-not-found", "google/x has no config.json");
 * if (!(err instanceof InputError) || err.kind !== "entry-not-found") throw new Error();
 * ```
 */
export class HubError extends InputError {
  /** What went wrong, for callers that handle some kinds (a missing optional file). */
  readonly kind: HubErrorKind;
  /** The commit the server named, when it named one (a missing file of an existing revision). */
  readonly commit?: string;

  /**
   * Makes the error.
   *
   * @param kind What went wrong.
   * @param message The repository, the file, what happened and what to do.
   * @param options The underlying error as `cause`, and the commit the server named.
   */
  constructor(kind: HubErrorKind, message: string, options?: ErrorOptions & { commit?: string }) {
    super(message, options);
    this.name = "HubError";
    this.kind = kind;
    this.commit = options?.commit;
  }
}
