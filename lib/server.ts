/**
 * The health and metrics listener: `/healthz` (the poll loop is alive), `/readyz` (IMDS answered
 * recently) and `/metrics` (Prometheus text). Liveness deliberately ignores IMDS errors: a
 * restart cannot fix an unreachable IMDS, and a crash-looping handler would miss the notice.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  port: number;
  hostname?: string;
  metrics: Metrics;
  logger: Logger;
  /** Is the poll loop still turning? */
  healthy: () => boolean;
  /** Has IMDS answered recently? */
  ready: () => boolean;
  signal?: AbortSignal;
}

/** A running listener. */
export interface HealthServer {
  readonly port: number;
  finished: Promise<void>;
  close(): Promise<void>;
}

/** Route one request; exported for tests that need no socket. */
export function route(request: Request, options: Omit<ServerOptions, "port" | "logger">): Response {
  const { pathname } = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
  }
  switch (pathname) {
    case "/healthz":
      return options.healthy()
        ? new Response("ok\n")
        : new Response("poll loop stalled\n", { status: 503 });
    case "/readyz":
      return options.ready()
        ? new Response("ok\n")
        : new Response("IMDS has not answered recently\n", { status: 503 });
    case "/metrics":
      return new Response(options.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    default:
      return new Response("not found\n", { status: 404 });
  }
}

/**
 * Listen on all interfaces so the kubelet's probes and Prometheus can reach the pod.
 *
 * @example
 * ```ts
 * const server = startServer({ port: 9092, metrics, logger, healthy: () => true, ready: () => true });
 * await server.close();
 * ```
 */
export function startServer(options: ServerOptions): HealthServer {
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    signal: options.signal,
    onListen: () => {},
    onError: (error) => {
      options.logger.warn("health server error", { error: String(error) });
      return new Response("internal error\n", { status: 500 });
    },
  }, (request) => route(request, options));
  return {
    port: server.addr.port,
    finished: server.finished,
    async close() {
      await server.shutdown();
    },
  };
}
