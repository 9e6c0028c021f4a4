// The metadata request of the hub's resolve protocol: HEAD {endpoint}/{repo}/resolve/{rev}/{file}.
// Relative redirects (a renamed repository) are followed; an absolute one (LFS files, to a CDN)
// is not: its response carries the metadata and its Location is where the bytes are.

/** What the hub says about a file. */
export interface FileMetadata {
  /** `X-Repo-Commit`: the commit the revision resolved to. */
  commit: string;
  /** `X-Linked-Etag` (LFS: the SHA-256), else `ETag` (git SHA-1), without quotes or `W/`. */
  etag: string;
  /** `X-Linked-Size`, else `Content-Length` of a response that is not a redirect. */
  size: number;
  /** Where to GET the bytes: the CDN's address for LFS files, else the resolve URL. */
  location: string;
}

/** The final HEAD response and the URL it answered; its body is already released. */
export async function headResolve(
  url: string,
  headers: Headers,
  timeoutSeconds: number,
): Promise<{ response: Response; url: string }> {
  for (let hops = 0;; hops++) {
    const response = await fetch(url, {
      method: "HEAD",
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    await response.body?.cancel();
    const location = response.headers.get("location");
    const relative = location !== null && !/^[a-z][a-z0-9+.-]*:/i.test(location) &&
      !location.startsWith("//");
    if (response.status >= 300 && response.status < 400 && relative && hops < 10) {
      url = new URL(location, url).href;
      continue;
    }
    return { response, url };
  }
}

/** An ETag as a file name: `W/"abc"` and `"abc"` become `abc`. */
export function normalizeEtag(etag: string | null): string | undefined {
  return etag?.replace(/^W\//, "").replace(/^"|"$/g, "") || undefined;
}

/**
 * The metadata of a successful (2xx or absolute-redirect) HEAD response, or the name of the
 * header that is missing.
 */
export function fileMetadata(response: Response, url: string): FileMetadata | string {
  const h = response.headers;
  const commit = h.get("x-repo-commit");
  if (!commit) return "X-Repo-Commit";
  const etag = normalizeEtag(h.get("x-linked-etag") ?? h.get("etag"));
  if (!etag) return "ETag";
  const redirect = response.status >= 300 && response.status < 400;
  const sizeText = h.get("x-linked-size") ?? (redirect ? null : h.get("content-length"));
  const size = Number(sizeText ?? NaN);
  if (sizeText === null || !Number.isSafeInteger(size) || size < 0) return "X-Linked-Size";
  const location = redirect && h.get("location") ? new URL(h.get("location")!, url).href : url;
  return { commit, etag, size, location };
}
