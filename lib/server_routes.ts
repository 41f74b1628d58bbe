/**
 * What the health listener answers: `/healthz` (the poll loop is alive), `/readyz` (the handler
 * can do its job) and `/metrics` (Prometheus text). Liveness deliberately ignores IMDS errors: a
 * restart cannot fix an unreachable IMDS, and a crash-looping handler would miss the notice.
 *
 * @module
 */

import type { Metrics } from "./metrics.ts";

/** What the routes read: the registry and the two health questions. */
export interface RouteOptions {
  metrics: Metrics;
  /** Is the poll loop still turning? */
  healthy: () => boolean;
  /** `true` when ready; `false` or a reason (`"IMDS has not answered"`) when not. */
  ready: () => boolean | string;
}

/**
 * Route one request; exported for tests that need no socket.
 *
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics();
 *
 * route(new Request("http://localhost/healthz"), { metrics, healthy: () => true, ready: () => true });
 * ```
 */
export function route(request: Request, options: RouteOptions): Response {
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
