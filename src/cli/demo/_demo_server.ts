// The demo's HTTP server: 127.0.0.1 only, a fixed table of paths, 404 for anything else, and
// limits on connections and time (see _http_server.ts).
import { _escapeControls } from "../../_terminal_text.ts";
import type { DemoRoutes } from "./_demo_assets.ts";
import { CliError } from "../_cli.ts";
import { type HttpLimits, type HttpServer, serveHttp } from "./_http_server.ts";

/** Headers on every response: no caching, no sniffing, and cross-origin isolation. */
const COMMON_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Cross-origin isolation gives the page SharedArrayBuffer, so TF.js can start its threaded
  // wasm build.
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * The page may run only its own script and TF.js's wasm and worker (a blob: URL), and talk
 * only to this server: no eval, no inline script or style, no other origin.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' blob: 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Answers a request from the route table. Paths match exactly, after the URL parser's own
 * normalisation, so no request can name a file: there is no file lookup. A Host header other
 * than this server's (DNS rebinding) is refused.
 */
export function demoHandler(routes: DemoRoutes, port: () => number): (req: Request) => Response {
  return (req) => {
    const host = req.headers.get("host");
    if (host !== `127.0.0.1:${port()}` && host !== `localhost:${port()}`) {
      return text(403, "unexpected Host header\n");
    }
    const { pathname } = new URL(req.url);
    const asset = routes.get(pathname);
    if (!asset) return text(404, "not found\n");
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, "method not allowed\n", { allow: "GET, HEAD" });
    }
    const headers: Record<string, string> = {
      ...COMMON_HEADERS,
      "content-type": asset.type,
      "content-length": String(asset.body.length),
    };
    if (asset.type.startsWith("text/html")) {
      headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
    }
    return new Response(
      req.method === "HEAD" ? null : asset.body as Uint8Array<ArrayBuffer>,
      { headers },
    );
  };
}

function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { ...COMMON_HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/** A running demo server. */
export interface DemoServer {
  /** The page's address, `http://127.0.0.1:PORT/`. */
  url: string;
  /** The port in use (the one picked when 0 was asked). */
  port: number;
  /** Stops listening and waits until the server is closed. */
  shutdown(): Promise<void>;
  /** Settles when the server closes. */
  finished: Promise<void>;
}

/**
 * Serves `routes` on 127.0.0.1 (only), on `port` (0: a free one). The table may be filled
 * after the server starts; until a path is in it the path is a 404. `limits` (connections at
 * once, header and send timeouts) default to {@linkcode serveHttp}'s.
 *
 * @throws {CliError} when the port is taken or not allowed, naming `--port`.
 */
export function startDemoServer(
  routes: DemoRoutes,
  port: number,
  limits?: HttpLimits,
): DemoServer {
  let bound = port;
  let server: HttpServer;
  try {
    server = serveHttp(
      { hostname: "127.0.0.1", port, limits },
      demoHandler(routes, () => bound),
      (err) => {
        console.error(`ddpm demo: ${_escapeControls(String((err as Error)?.message ?? err))}`);
        return text(500, "internal error\n");
      },
    );
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new CliError(
        `port ${port} on 127.0.0.1 is in use (another demo?): stop that program or pass ` +
          "--port N (--port 0 picks a free one)",
        2,
        { cause: err },
      );
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new CliError(
        `cannot listen on 127.0.0.1:${port}: ${(err as Error).message}; pass --port N above 1023`,
        2,
        { cause: err },
      );
    }
    throw err;
  }
  bound = server.addr.port;
  return {
    url: `http://127.0.0.1:${bound}/`,
    port: bound,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}
