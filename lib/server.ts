// deno-lint-ignore-file house/max-file-lines house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * The health and metrics listener: `/healthz` (the poll loop is alive), `/readyz` (the handler
 * can do its job) and `/metrics` (Prometheus text). Liveness deliberately ignores IMDS errors: a
 * restart cannot fix an unreachable IMDS, and a crash-looping handler would miss the notice.
 *
 * With `hostNetwork: true` this listener sits on the node's own address, where anything on the
 * node's network can open connections to it. `Deno.serve` offers no header or idle timeout and
 * no connection cap, and it ends the process on an accept error such as "Too many open files".
 * So this is a small HTTP/1.1 server over `Deno.listen` for three GET endpoints: every
 * connection has a deadline for its request head, an idle deadline between requests and a write
 * deadline; the head is capped in bytes; at most `maxConnections` are open at once (when full,
 * the connection that has waited longest for its request is dropped for the new one, so a
 * slowloris client cannot lock out the kubelet's probes); accept errors are logged and retried.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  port: number;
  /** Address to bind; default `127.0.0.1` (see `METRICS_ADDRESS` in lib/config.ts). */
  hostname?: string;
  metrics: Metrics;
  logger: Logger;
  /** Is the poll loop still turning? */
  healthy: () => boolean;
  /** `true` when ready; `false` or a reason (`"IMDS has not answered"`) when not. */
  ready: () => boolean | string;
  signal?: AbortSignal;
  /** Open connections at most; default 64 (probes and a scraper need a handful). */
  maxConnections?: number;
  /** A connection must deliver its request head within this; default 5000 ms. */
  headerTimeoutMs?: number;
  /** A kept-alive connection may wait this long for its next request; default 10000 ms. */
  idleTimeoutMs?: number;
  /** Writing one response may take this long (a client that does not read); default 5000 ms. */
  writeTimeoutMs?: number;
  /** Bytes of request line and headers at most; default 8192. */
  maxHeaderBytes?: number;
  /** For tests: how to listen (default `Deno.listen`). */
  listen?: (options: Deno.TcpListenOptions) => Deno.Listener;
}

/** A running listener. */
export interface HealthServer {
  readonly port: number;
  /** Resolves when the listener and every connection are closed. */
  finished: Promise<void>;
  close(): Promise<void>;
}

/** Thrown by {@linkcode startServer} when the port cannot be bound; the message names it. */
export class ListenError extends Error {
  /** `AddrInUse`, `PermissionDenied`, `AddrNotAvailable` or the error's name. */
  code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ListenError";
    this.code = code;
  }
}

/** Route one request; exported for tests that need no socket. */
export function route(
  request: Request,
  options: Pick<ServerOptions, "metrics" | "healthy" | "ready">,
): Response {
  const { pathname } = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  switch (pathname) {
    case "/healthz":
      return options.healthy()
        ? new Response("ok\n")
        : new Response("poll loop stalled\n", { status: 503 });
    case "/readyz": {
      const ready = options.ready();
      if (ready === true) return new Response("ok\n");
      const reason = typeof ready === "string" && ready !== ""
        ? ready
        : "IMDS has not answered recently";
      return new Response(`not ready: ${reason.replace(/[\r\n]+/g, " ")}\n`, { status: 503 });
    }
    case "/metrics":
      return new Response(options.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    default:
      return new Response("not found\n", { status: 404 });
  }
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();
const HEAD_END = encoder.encode("\r\n\r\n");

function indexOfHeadEnd(buf: Uint8Array, length: number, from = 0): number {
  outer: for (let i = Math.max(0, from); i + 3 < length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== HEAD_END[j]) continue outer;
    return i;
  }
  return -1;
}

interface Head {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string>;
}

function parseHead(text: string): Head | undefined {
  const [requestLine, ...lines] = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(requestLine);
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { method: m[1], target: m[2], version: m[3], headers };
}

async function serialize(response: Response, head: boolean, keepAlive: boolean) {
  const body = new Uint8Array(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${REASONS[response.status] ?? ""}`];
  response.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  lines.push(`content-length: ${body.byteLength}`);
  lines.push(`connection: ${keepAlive ? "keep-alive" : "close"}`);
  const headBytes = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  if (head) return headBytes;
  const out = new Uint8Array(headBytes.byteLength + body.byteLength);
  out.set(headBytes);
  out.set(body, headBytes.byteLength);
  return out;
}

function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, { status });
}

/**
 * Listen on `hostname:port` (default loopback) for the kubelet's probes and Prometheus. Throws
 * {@linkcode ListenError} when the address cannot be bound (port in use, address not on this
 * host); never throws afterwards.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics();
 * const logger = createLogger();
 *
 * const server = startServer({ port: 9092, metrics, logger, healthy: () => true, ready: () => true });
 * await server.close();
 * ```
 */
export function startServer(options: ServerOptions): HealthServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const maxConnections = options.maxConnections ?? 64;
  const headerTimeoutMs = options.headerTimeoutMs ?? 5000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  const maxHeaderBytes = options.maxHeaderBytes ?? 8192;
  // At most 500 connections a second take the place of older ones when the cap is reached.
  const admitIntervalMs = 2;
  const { logger } = options;
  const listen = options.listen ?? ((o: Deno.TcpListenOptions) => Deno.listen(o));

  let listener: Deno.Listener;
  try {
    listener = listen({ hostname, port: options.port });
  } catch (error) {
    const code = error instanceof Error ? error.name : "Error";
    const detail = error instanceof Error ? error.message : String(error);
    throw new ListenError(`cannot listen on ${hostname}:${options.port}: ${detail}`, code, {
      cause: error,
    });
  }
  const port = (listener.addr as Deno.NetAddr).port;

  interface Connection {
    conn: Deno.Conn;
    /** Waiting for (the rest of) a request: the client holds it, so it may be dropped. */
    waiting: boolean;
    done: Promise<void>;
  }
  // Insertion order is age order: the first waiting entry is the longest waiting one.
  const open = new Set<Connection>();
  const SMALL_BUFFER = Math.min(1024, maxHeaderBytes + 4);
  const spare: Uint8Array[] = [];
  let closing = false;

  function closeConn(c: Connection) {
    try {
      c.conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Run `work`; if it has not settled after `ms`, close the connection (which ends it). */
  async function within<T>(c: Connection, ms: number, work: Promise<T>): Promise<T> {
    const timer = setTimeout(() => closeConn(c), ms);
    try {
      return await work;
    } finally {
      clearTimeout(timer);
    }
  }

  async function writeAll(c: Connection, bytes: Uint8Array) {
    let offset = 0;
    while (offset < bytes.byteLength) offset += await c.conn.write(bytes.subarray(offset));
  }

  async function serve(c: Connection) {
    // Small at first (a probe's request is ~150 bytes), grown up to the limit only when a head
    // needs it, and reused: a flood of short-lived connections must not leave a buffer each
    // for the garbage collector (array buffers live outside the heap it watches).
    let buf = spare.pop() ?? new Uint8Array(SMALL_BUFFER);
    let filled = 0;
    let first = true;
    try {
      while (!closing) {
        // Read until a whole head is buffered: the idle deadline runs until the first byte,
        // the header deadline until the end of the head.
        c.waiting = true;
        let end = indexOfHeadEnd(buf, filled);
        let deadline = Date.now() + (first || filled > 0 ? headerTimeoutMs : idleTimeoutMs);
        while (end < 0) {
          if (filled >= buf.byteLength && buf.byteLength < maxHeaderBytes + 4) {
            const grown = new Uint8Array(Math.min(buf.byteLength * 2, maxHeaderBytes + 4));
            grown.set(buf.subarray(0, filled));
            buf = grown;
          }
          if (filled >= buf.byteLength) {
            c.waiting = false;
            const bytes = await serialize(plain(431, "request head too large"), false, false);
            await within(c, writeTimeoutMs, writeAll(c, bytes));
            return;
          }
          const remaining = deadline - Date.now();
          if (remaining <= 0) return;
          const n = await within(c, remaining, c.conn.read(buf.subarray(filled)));
          if (n === null) return;
          if (filled === 0 && !first) deadline = Date.now() + headerTimeoutMs;
          filled += n;
          end = indexOfHeadEnd(buf, filled, filled - n - 3);
        }
        c.waiting = false;
        first = false;
        const head = parseHead(new TextDecoder().decode(buf.subarray(0, end)));
        // The rest of the buffer is the start of a pipelined request.
        buf.copyWithin(0, end + 4, filled);
        filled -= end + 4;
        let response: Response;
        let keepAlive = false;
        if (!head) {
          response = plain(400, "bad request");
        } else if (
          head.headers.has("transfer-encoding") ||
          Number(head.headers.get("content-length") ?? 0) !== 0
        ) {
          // None of the endpoints takes a body; not reading one means closing afterwards.
          response = plain(400, "request bodies are not accepted");
        } else {
          keepAlive = head.version === "HTTP/1.1" &&
            head.headers.get("connection")?.toLowerCase() !== "close";
          const path = head.target.startsWith("/") ? head.target : "/";
          try {
            response = route(
              new Request(`http://localhost${path}`, { method: head.method }),
              options,
            );
          } catch (error) {
            logger.warn("health server error", { error: String(error) });
            response = plain(500, "internal error");
          }
        }
        const bytes = await serialize(response, head?.method === "HEAD", keepAlive);
        await within(c, writeTimeoutMs, writeAll(c, bytes));
        if (!keepAlive) return;
      }
    } catch {
      // Reset by the peer, or closed by a deadline or by close(): nothing to tell anyone.
    } finally {
      closeConn(c);
      open.delete(c);
      if (buf.byteLength === SMALL_BUFFER && spare.length < maxConnections) spare.push(buf);
    }
  }

  function admit(conn: Deno.Conn) {
    if (open.size >= maxConnections) {
      let oldest: Connection | undefined;
      for (const c of open) {
        if (c.waiting) {
          oldest = c;
          break;
        }
      }
      if (!oldest) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
        return;
      }
      closeConn(oldest);
      open.delete(oldest);
    }
    const c: Connection = { conn, waiting: true, done: Promise.resolve() };
    open.add(c);
    c.done = serve(c);
  }

  // Accept errors (EMFILE when the process runs out of descriptors, ECONNABORTED...) must never
  // end the process: log the first and then one line a minute, back off, and keep accepting.
  let acceptErrors = 0;
  let lastReport = 0;
  async function acceptLoop() {
    let backoff = 50;
    while (!closing) {
      if (open.size >= maxConnections) {
        // Full: each new connection now costs an older one. Pacing these admissions bounds the
        // CPU a connection flood can take from the poll loop and the drain; connections wait
        // in the kernel's accept queue meanwhile, so a probe still gets in within about a
        // second.
        await new Promise((resolve) => setTimeout(resolve, admitIntervalMs));
        if (closing) break;
      }
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closing || error instanceof Deno.errors.BadResource) break;
        acceptErrors++;
        const now = Date.now();
        if (now - lastReport >= 60_000) {
          logger.warn("health server cannot accept connections; retrying", {
            error: error instanceof Error ? error.message : String(error),
            errors: acceptErrors,
          });
          lastReport = now;
        }
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      backoff = 50;
      admit(conn);
    }
  }

  const loop = acceptLoop();
  let finished: Promise<void> | undefined;
  function close(): Promise<void> {
    if (!finished) {
      closing = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const c of open) closeConn(c);
      finished = loop.then(() => Promise.all([...open].map((c) => c.done))).then(() => {});
    }
    return finished;
  }
  if (options.signal?.aborted) close();
  options.signal?.addEventListener("abort", () => close(), { once: true });

  let resolveFinished: () => void;
  const finishedPromise = new Promise<void>((resolve) => resolveFinished = resolve);
  loop.then(() => close()).then(() => resolveFinished());

  return {
    port,
    finished: finishedPromise,
    close,
  };
}

/** Options of {@linkcode keepListening}: those of {@linkcode startServer}, plus the retry. */
export interface KeepListeningOptions extends ServerOptions {
  /** Between bind attempts while the address is taken; default 30000 ms. */
  retryMs?: number;
}

/**
 * Start the listener, and when its port cannot be bound keep the handler running without it:
 * one `error` line naming the address and the fix, then a quiet retry every `retryMs` (the
 * holder may be an old pod still terminating). Resolves `finished` when `signal` aborts.
 *
 * Why not exit: the handler's job is the two-minute window, and it can do that job without
 * the listener. The failure still shows: the kubelet's probes fail (the pod is not ready and
 * is restarted by its liveness probe), and the error line says why.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics();
 * const logger = createLogger();
 * const healthy = () => true;
 * const ready = () => true;
 * const signal = new AbortController().signal;
 *
 * const health = keepListening({ port: 9092, metrics, logger, healthy, ready, signal });
 * await health.finished;
 * ```
 */
export function keepListening(options: KeepListeningOptions): { finished: Promise<void> } {
  const retryMs = options.retryMs ?? 30_000;
  const hostname = options.hostname ?? "127.0.0.1";
  const { logger, signal } = options;
  let reported = false;
  async function run(): Promise<void> {
    while (!signal?.aborted) {
      try {
        const server = startServer(options);
        logger.info("health and metrics listening", { address: hostname, port: server.port });
        await server.finished;
        return;
      } catch (error) {
        if (!(error instanceof ListenError)) throw error;
        if (!reported) {
          const why = error.code === "AddrInUse"
            ? "the port is in use (set METRICS_PORT to a free port, or 0 to turn the listener off)"
            : error.code === "AddrNotAvailable"
            ? "the address is not on this host (check METRICS_ADDRESS)"
            : `${error.message} (check METRICS_ADDRESS and METRICS_PORT)`;
          logger.error(
            `cannot listen on ${hostname}:${options.port} for /healthz, /readyz and /metrics: ${why}; ` +
              `the handler keeps watching for notices without them and retries every ${
                retryMs / 1000
              } s`,
          );
          reported = true;
        } else {
          logger.debug("health listener still cannot bind", { error: error.code });
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, retryMs);
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        }
        signal?.addEventListener("abort", done, { once: true });
      });
    }
  }
  return { finished: run() };
}
