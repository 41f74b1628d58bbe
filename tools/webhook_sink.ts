/**
 * A local HTTP endpoint that records every request it gets, standing in for Slack, a generic
 * webhook and friends in the demo and the end-to-end tests.
 *
 * @module
 */

/** One recorded request. */
export interface SinkRequest {
  method: string;
  path: string;
  query: string;
  contentType: string;
  /** Every request header, names in lower case. */
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** A running sink. */
export interface WebhookSink {
  readonly url: string;
  readonly requests: SinkRequest[];
  /** Resolves when `count` requests have arrived whose path starts with `pathPrefix`; rejects after `timeoutMs`. */
  waitFor(
    count: number,
    options?: { pathPrefix?: string; timeoutMs?: number },
  ): Promise<SinkRequest[]>;
  close(): Promise<void>;
}

/**
 * Start a sink on 127.0.0.1 at a free port. `status` picks the answer per request (default 200).
 *
 * @example
 * ```ts
 * const sink = startWebhookSink();
 * // WEBHOOK_URL = `${sink.url}/webhook`
 * const [msg] = await sink.waitFor(1, { pathPrefix: "/webhook" });
 * await sink.close();
 * ```
 */
export function startWebhookSink(
  options: { status?: (request: SinkRequest) => number } = {},
): WebhookSink {
  const requests: SinkRequest[] = [];
  const waiters = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      const record: SinkRequest = {
        method: req.method,
        path: url.pathname,
        query: url.search,
        contentType: req.headers.get("content-type") ?? "",
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
        at: Date.now(),
      };
      requests.push(record);
      for (const w of waiters) w();
      return new Response("ok", { status: options.status?.(record) ?? 200 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    waitFor(count, { pathPrefix = "/", timeoutMs = 20_000 } = {}) {
      const matching = () => requests.filter((r) => r.path.startsWith(pathPrefix));
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = matching();
          if (m.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `webhook sink: ${matching().length} of ${count} requests to ${pathPrefix} after ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      await server.shutdown();
    },
  };
}
