// A Hugging Face hub on 127.0.0.1 that speaks the resolve protocol as the real one does:
// HEAD/GET /{owner}/{name}/resolve/{revision}/{file} with X-Repo-Commit and ETag (git SHA-1) or,
// for LFS files, a 302 to a second server (the "CDN", another host:port) with X-Linked-Etag (the
// SHA-256) and X-Linked-Size; X-Error-Code on 401/404; Range on the CDN. Faults on request: cut
// a transfer after N bytes, serve corrupt bytes. Every request is recorded.
import { createHash } from "node:crypto";

/** One repository: files by path, the LFS ones by name, and whether a token is needed. */
export interface FakeRepo {
  commit: string;
  files: Map<string, Uint8Array<ArrayBuffer>>;
  lfs: Set<string>;
  gated?: boolean;
}

/** A request as the servers saw it. */
export interface SeenRequest {
  server: "hub" | "cdn";
  method: string;
  path: string;
  authorization: string | null;
  range: string | null;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Git's blob id: SHA-1 of "blob <size>\0" and the bytes. */
export function gitBlobId(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

export class FakeHub {
  readonly repos = new Map<string, FakeRepo>();
  /** Renamed repositories: old id -> new id (answered with a relative 307). */
  readonly renamed = new Map<string, string>();
  readonly requests: SeenRequest[] = [];
  /** The token a gated repository accepts. */
  token = "";
  /** SHA-256 -> bytes to send before cutting the connection (once). */
  readonly cutAfter = new Map<string, number>();
  /** When set, the hub answers every request with this status (e.g. 503: down for maintenance). */
  failWith?: number;
  /** SHA-256s whose bytes are served with one byte flipped. */
  readonly corrupt = new Set<string>();
  #hub?: Deno.HttpServer<Deno.NetAddr>;
  #cdn?: Deno.HttpServer<Deno.NetAddr>;
  #lfs = new Map<string, Uint8Array<ArrayBuffer>>();

  /** The CDN's port (its host is 127.0.0.1, like the hub's, on another port). */
  get cdnPort(): number {
    return this.#cdn!.addr.port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.#hub!.addr.port}`;
  }

  start(): this {
    const quiet = {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      onError: () => new Response(null, { status: 500 }),
    };
    this.#hub = Deno.serve(quiet, (req) => this.#hubAnswer(req));
    this.#cdn = Deno.serve(quiet, (req) => this.#cdnAnswer(req));
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.#hub?.shutdown(), this.#cdn?.shutdown()]);
  }

  #record(server: "hub" | "cdn", req: Request): URL {
    const url = new URL(req.url);
    this.requests.push({
      server,
      method: req.method,
      path: url.pathname,
      authorization: req.headers.get("authorization"),
      range: req.headers.get("range"),
    });
    return url;
  }

  #hubAnswer(req: Request): Response {
    const url = this.#record("hub", req);
    if (this.failWith) return new Response(null, { status: this.failWith });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const [, repoId, revision, file] = [
      m[0],
      m[1],
      decodeURIComponent(m[2]),
      decodeURIComponent(m[3]),
    ];
    const moved = this.renamed.get(repoId);
    if (moved) {
      return new Response(null, {
        status: 307,
        headers: { location: url.pathname.replace(repoId, moved) },
      });
    }
    const repo = this.repos.get(repoId);
    // As the hub does for an anonymous caller: a missing repository is a 401, not a 404.
    if (!repo) return error(401, "RepoNotFound");
    if (repo.gated && req.headers.get("authorization") !== `Bearer ${this.token}`) {
      return error(401, "GatedRepo");
    }
    if (revision !== "main" && revision !== repo.commit) return error(404, "RevisionNotFound");
    const bytes = repo.files.get(file);
    if (!bytes) return error(404, "EntryNotFound", { "x-repo-commit": repo.commit });
    const headers: Record<string, string> = { "x-repo-commit": repo.commit };
    if (repo.lfs.has(file)) {
      const sha = sha256Hex(bytes);
      this.#lfs.set(sha, bytes);
      return new Response(null, {
        status: 302,
        headers: {
          ...headers,
          etag: `"${gitBlobId(new TextEncoder().encode(`pointer ${sha}`))}"`,
          "x-linked-etag": `"${sha}"`,
          "x-linked-size": String(bytes.length),
          location: `http://127.0.0.1:${this.#cdn!.addr.port}/lfs/${sha}?signature=abc`,
        },
      });
    }
    headers.etag = `"${gitBlobId(bytes)}"`;
    headers["content-length"] = String(bytes.length);
    return new Response(req.method === "HEAD" ? null : bytes, { headers });
  }

  #cdnAnswer(req: Request): Response {
    const url = this.#record("cdn", req);
    const sha = url.pathname.replace(/^\/lfs\//, "");
    let bytes = this.#lfs.get(sha);
    if (!bytes) return new Response("no such object", { status: 404 });
    if (this.corrupt.has(sha)) {
      bytes = bytes.slice();
      bytes[bytes.length >> 1] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start >= bytes.length) return new Response(null, { status: 416 });
    const part = bytes.slice(start);
    const headers: Record<string, string> = { "accept-ranges": "bytes" };
    if (range) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    const cut = this.cutAfter.get(sha);
    if (cut !== undefined) {
      this.cutAfter.delete(sha);
      // Part of the body, then the connection drops.
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(part.slice(0, cut));
          setTimeout(() => c.error(new Error("connection cut by the test")), 20);
        },
      });
      return new Response(body, { status: range ? 206 : 200, headers });
    }
    headers["content-length"] = String(part.length);
    return new Response(part, { status: range ? 206 : 200, headers });
  }
}

function error(status: number, code: string, extra: Record<string, string> = {}): Response {
  return new Response(null, {
    status,
    headers: { "x-error-code": code, "x-error-message": code, ...extra },
  });
}
