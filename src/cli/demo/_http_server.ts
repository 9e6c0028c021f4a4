// A small HTTP/1.1 server for the demo: one request per connection, GET and HEAD without
// bodies, with the limits `Deno.serve` does not offer. Without them a client that opens
// connections and never finishes a request (6,000 half-sent requests, or one byte a minute)
// holds a socket and a file descriptor each, for ever.
//
// - at most `maxConnections` at once; more are closed on accept;
// - the request's head must arrive within `headerTimeoutMs` and `maxHeaderBytes`;
// - request bodies are never read (the demo has no use for one): the response goes out and
//   the connection closes, so a slowly sent body holds nothing;
// - the response must be taken within `sendTimeoutMs`.

/** The limits of {@linkcode serveHttp}. */
export interface HttpLimits {
  /** Connections open at once; more are closed at once. Default 32. */
  maxConnections?: number;
  /** Time for a request's line and headers to arrive, from accept. Default 10,000 ms. */
  headerTimeoutMs?: number;
  /** Time for the client to take the whole response. Default 120,000 ms. */
  sendTimeoutMs?: number;
  /** Largest request head. Default 16 KiB. */
  maxHeaderBytes?: number;
}

/** A running server. */
export interface HttpServer {
  /** The bound address (the port picked when 0 was asked). */
  addr: Deno.NetAddr;
  /** Connections open now. */
  connections(): number;
  /** Stops accepting, closes open connections, and waits until the accept loop ends. */
  shutdown(): Promise<void>;
  /** Settles when the server has stopped. */
  finished: Promise<void>;
}

const enc = new TextEncoder();
const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
};
const HEAD_END = enc.encode("\r\n\r\n");

/**
 * Listens on `hostname:port` and answers each request with `handler`, within the limits.
 * Throws Deno's errors for a port in use or not allowed, synchronously.
 */
export function serveHttp(
  opts: { hostname: string; port: number; limits?: HttpLimits },
  handler: (req: Request) => Response | Promise<Response>,
  onError: (err: unknown) => Response = () => new Response("internal error\n", { status: 500 }),
): HttpServer {
  const limits = {
    maxConnections: 32,
    headerTimeoutMs: 10_000,
    sendTimeoutMs: 120_000,
    maxHeaderBytes: 16 * 1024,
    ...opts.limits,
  };
  const listener = Deno.listen({ hostname: opts.hostname, port: opts.port });
  const addr = listener.addr as Deno.NetAddr;
  const open = new Set<Deno.Conn>();
  let stopped = false;
  const serveOne = async (conn: Deno.Conn) => {
    try {
      const head = await withDeadline(
        conn,
        limits.headerTimeoutMs,
        () => readHead(conn, limits.maxHeaderBytes),
      );
      if (!head) return;
      let res: Response;
      const req = typeof head === "number" ? head : toRequest(head, addr);
      if (typeof req === "number") {
        res = new Response(`${req === 431 ? "request head too large" : "bad request"}\n`, {
          status: req,
        });
      } else {
        try {
          res = await handler(req);
        } catch (err) {
          res = onError(err);
        }
      }
      const bytes = await encodeResponse(res, typeof req !== "number" && req.method === "HEAD");
      await withDeadline(conn, limits.sendTimeoutMs, () => writeAll(conn, bytes));
    } catch {
      // The client went away or was cut off by a deadline: nothing to answer.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed by a deadline or the shutdown
      }
    }
  };
  const finished = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        if (stopped) break;
        continue;
      }
      if (open.size >= limits.maxConnections) {
        conn.close();
        continue;
      }
      open.add(conn);
      serveOne(conn);
    }
  })();
  return {
    addr,
    connections: () => open.size,
    shutdown: async () => {
      stopped = true;
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // closing already
        }
      }
      await finished;
    },
    finished,
  };
}

interface Head {
  method: string;
  target: string;
  headers: [string, string][];
}

/** Runs `fn`, closing `conn` when it takes longer than `ms` (which ends any pending read). */
async function withDeadline<T>(conn: Deno.Conn, ms: number, fn: () => Promise<T>): Promise<T> {
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }, ms);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
  }
}

/** Reads up to the blank line: the head, 431 when too large, 400 when malformed, or null. */
async function readHead(conn: Deno.Conn, max: number): Promise<Head | number | null> {
  const buf = new Uint8Array(max);
  let len = 0;
  for (;;) {
    if (len === max) return 431;
    const n = await conn.read(buf.subarray(len));
    if (n === null) return null;
    const from = Math.max(0, len - 3);
    len += n;
    const end = indexOf(buf.subarray(0, len), HEAD_END, from);
    if (end >= 0) return parseHead(new TextDecoder("latin1").decode(buf.subarray(0, end)));
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function parseHead(text: string): Head | number {
  const [line, ...rest] = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line);
  if (!m) return 400;
  const headers: [string, string][] = [];
  for (const h of rest) {
    const colon = h.indexOf(":");
    if (colon <= 0) return 400;
    headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
  }
  return { method: m[1], target: m[2], headers };
}

/**
 * A Request for the handler. An absolute-form target keeps only its path and query, so every
 * URL the handler sees is this server's; a target the URL parser refuses is a 400.
 */
function toRequest(head: Head, addr: Deno.NetAddr): Request | number {
  const base = `http://${addr.hostname}:${addr.port}`;
  try {
    let url = new URL(head.target.startsWith("/") ? `${base}${head.target}` : head.target);
    if (!head.target.startsWith("/")) url = new URL(`${base}${url.pathname}${url.search}`);
    // GET and HEAD only carry no body; any other method reaches the handler as a bodiless
    // request, which answers 405.
    return new Request(url, { method: head.method, headers: head.headers });
  } catch {
    return 400;
  }
}

async function encodeResponse(res: Response, isHead: boolean): Promise<Uint8Array> {
  const body = isHead ? new Uint8Array() : new Uint8Array(await res.arrayBuffer());
  const lines = [`HTTP/1.1 ${res.status} ${res.statusText || REASONS[res.status] || "-"}`];
  for (const [k, v] of res.headers) {
    if (k !== "content-length" && k !== "connection") {
      lines.push(`${k}: ${v}`);
    }
  }
  const length = isHead ? res.headers.get("content-length") ?? "0" : String(body.length);
  lines.push(`content-length: ${length}`, "connection: close", "", "");
  const headBytes = enc.encode(lines.join("\r\n"));
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes);
  out.set(body, headBytes.length);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}
