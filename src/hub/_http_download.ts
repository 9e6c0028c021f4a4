// GET of a file's bytes into `<blob>.incomplete`, resumed with a Range header from what is
// already there (from this attempt or an earlier process), retried while the server keeps
// sending data. The caller checks the hash and renames the file into place.
import { HubError } from "./hub_error.ts";

/** What {@linkcode downloadToFile} needs. */
export interface DownloadRequest {
  url: string;
  headers: Headers;
  /** The `.incomplete` file, appended to. */
  path: string;
  /** The size the metadata promised. */
  size: number;
  /** Seconds without a byte before the attempt is abandoned (then resumed). */
  idleTimeout: number;
  /** Called with the bytes on disk, at most every 100 ms and at the end. */
  onBytes?: (done: number) => void;
  /** The error for a response that is not 200 or 206. */
  statusError: (response: Response) => Error;
  /** Names the file in messages. */
  what: string;
}

/** Consecutive failed attempts, each without a byte of progress, before giving up. */
const MAX_STALLED_ATTEMPTS = 3;

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

/** The first byte of a `Content-Range: bytes a-b/n` header, or NaN. */
function rangeStart(response: Response): number {
  const m = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "");
  return m ? Number(m[1]) : NaN;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

/**
 * Downloads `req.url` into `req.path` until it holds `req.size` bytes. A cut connection is
 * resumed from the file's length; after {@linkcode MAX_STALLED_ATTEMPTS} attempts in a row that
 * bring nothing, a network HubError is thrown and the partial file stays for the next run.
 */
export async function downloadToFile(req: DownloadRequest): Promise<void> {
  let stalled = 0;
  let lastReport = 0;
  const report = (done: number, force = false) => {
    const now = performance.now();
    if (req.onBytes && (force || now - lastReport >= 100)) {
      lastReport = now;
      req.onBytes(done);
    }
  };
  // Exists from the start, so that an empty file is one too.
  (await Deno.open(req.path, { create: true, append: true })).close();
  for (;;) {
    let have = await sizeOf(req.path);
    if (have > req.size) {
      await Deno.remove(req.path);
      have = 0;
    }
    if (have === req.size) {
      report(have, true);
      return;
    }
    report(have, true);
    const headers = new Headers(req.headers);
    if (have > 0) headers.set("range", `bytes=${have}-`);
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(), req.idleTimeout * 1000);
    let received = 0;
    let failure: unknown;
    try {
      const response = await fetch(req.url, { headers, signal: abort.signal });
      if (response.status === 416 && have > 0) {
        // The partial file is longer than the server's: start over.
        await response.body?.cancel();
        await Deno.remove(req.path);
        continue;
      }
      if (response.status !== 200 && response.status !== 206) {
        await response.body?.cancel();
        throw req.statusError(response);
      }
      // A server that ignores Range sends the whole file: write it from the start.
      const append = have > 0 && response.status === 206 && rangeStart(response) === have;
      using file = await Deno.open(req.path, {
        write: true,
        create: true,
        append,
        truncate: !append,
      });
      let done = append ? have : 0;
      for await (const chunk of response.body ?? []) {
        clearTimeout(timer);
        timer = setTimeout(() => abort.abort(), req.idleTimeout * 1000);
        if (done + chunk.length > req.size) {
          throw new HubError(
            "integrity",
            `${req.what}: the server sent more than the ${req.size} bytes its metadata promised`,
          );
        }
        await writeAll(file, chunk);
        done += chunk.length;
        received += chunk.length;
        report(done);
      }
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(timer);
    }
    if (failure instanceof HubError) {
      if (failure.kind === "integrity") await Deno.remove(req.path).catch(() => {});
      throw failure;
    }
    if (failure !== undefined && !(failure instanceof TypeError || isAbort(failure))) {
      throw failure;
    }
    stalled = received > 0 ? 0 : stalled + 1;
    if (stalled >= MAX_STALLED_ATTEMPTS) {
      const why = failure instanceof Error ? failure.message : "the connection closed early";
      throw new HubError(
        "network",
        `${req.what}: the download stopped at ${await sizeOf(req.path)} of ${req.size} bytes ` +
          `(${why}); run again to resume it, or set HF_HUB_OFFLINE=1 to use the cache only`,
        { cause: failure },
      );
    }
    if (received === 0) await new Promise((r) => setTimeout(r, 200 * stalled));
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof DOMException && (err.name === "AbortError" || err.name === "TimeoutError");
}
