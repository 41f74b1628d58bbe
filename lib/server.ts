/**
 * The health and metrics listener (routes in lib/server_routes.ts). With `hostNetwork: true` it
 * sits on the node's own address, where anything on the node's network can open connections to
 * it. `Deno.serve` offers no header or idle timeout and no connection cap, and it ends the
 * process on an accept error such as "Too many open files". So this is a small HTTP/1.1 server
 * over `Deno.listen` for three GET endpoints: connection deadlines and the head cap in
 * lib/server_connection.ts, the connection cap and accept-error survival in
 * lib/server_listener.ts, the framing in lib/server_http.ts.
 *
 * @module
 */

import { sleep } from "./_async.ts";
import type { Logger } from "./log.ts";
import {
  closeConn,
  type ConnectionLimits,
  type Connections,
  createConnections,
} from "./server_connection.ts";
import { acceptLoop } from "./server_listener.ts";
import { route, type RouteOptions } from "./server_routes.ts";

/** Options of {@linkcode startServer}. */
export interface ServerOptions extends RouteOptions {
  port: number;
  /** Address to bind; default `127.0.0.1` (see `METRICS_ADDRESS` in lib/config_variables.ts). */
  hostname?: string;
  logger: Logger;
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

/** The options' limits, defaults filled in. */
function limitsOf(options: ServerOptions): ConnectionLimits {
  return {
    maxConnections: options.maxConnections ?? 64,
    headerTimeoutMs: options.headerTimeoutMs ?? 5000,
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    writeTimeoutMs: options.writeTimeoutMs ?? 5000,
    maxHeaderBytes: options.maxHeaderBytes ?? 8192,
  };
}

/** Bind `hostname:port`, or throw a {@linkcode ListenError} naming the address. */
function bind(options: ServerOptions, hostname: string): Deno.Listener {
  const listen = options.listen ?? ((o: Deno.TcpListenOptions) => Deno.listen(o));
  try {
    return listen({ hostname, port: options.port });
  } catch (error) {
    const code = error instanceof Error ? error.name : "Error";
    const detail = error instanceof Error ? error.message : String(error);
    throw new ListenError(`cannot listen on ${hostname}:${options.port}: ${detail}`, code, {
      cause: error,
    });
  }
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
  const listener = bind(options, options.hostname ?? "127.0.0.1");
  const port = (listener.addr as Deno.NetAddr).port;
  const state = createConnections(
    limitsOf(options),
    options.logger,
    (request) => route(request, options),
  );
  const loop = acceptLoop(state, listener, options.logger);
  const close = closer(state, listener, loop);
  if (options.signal?.aborted) close();
  options.signal?.addEventListener("abort", () => close(), { once: true });

  let resolveFinished: () => void;
  const finished = new Promise<void>((resolve) => resolveFinished = resolve);
  loop.then(() => close()).then(() => resolveFinished());
  return { port, finished, close };
}

/**
 * The listener's `close()`: stop accepting, close every connection, and resolve once the accept
 * loop and every connection have ended; later calls return the same promise.
 */
function closer(
  state: Connections,
  listener: Deno.Listener,
  loop: Promise<void>,
): () => Promise<void> {
  let finished: Promise<void> | undefined;
  return () => {
    if (!finished) {
      state.closing = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      for (const c of state.open) closeConn(c);
      finished = loop.then(() => Promise.all([...state.open].map((c) => c.done))).then(() => {});
    }
    return finished;
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
      await sleep(retryMs, signal);
    }
  }
  return { finished: run() };
}
