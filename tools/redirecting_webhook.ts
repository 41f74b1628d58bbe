/**
 * A hostile webhook stand-in: answers each request with a redirect chosen per path, and records
 * every request (method, path, body) so a test can see where a payload went. Paths look like
 * `/<status>/<to>/...`: `/302/same/hook` redirects with 302 to `/final/hook` on itself,
 * `/307/other/hook` with 307 to `/final/hook` on `otherOrigin`, `/307/loop/hook` to itself
 * again. `/final/...` answers 200. Loopback only.
 *
 * @module
 */

/** One recorded request. */
export interface RedirectRequest {
  method: string;
  path: string;
  body: string;
}

/** A running stand-in. */
export interface RedirectingWebhook {
  readonly url: string;
  readonly requests: RedirectRequest[];
  close(): Promise<void>;
}

/**
 * Start the stand-in on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * const other = startRedirectingWebhook();
 * const hostile = startRedirectingWebhook({ otherOrigin: other.url });
 * // WEBHOOK_URL = `${hostile.url}/302/same/hook`
 * ```
 */
export function startRedirectingWebhook(
  options: { otherOrigin?: string } = {},
): RedirectingWebhook {
  const requests: RedirectRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      requests.push({ method: req.method, path: url.pathname, body: await req.text() });
      const [, status, to, ...rest] = url.pathname.split("/");
      if (status === "final") return new Response("ok");
      const code = Number(status);
      if (![301, 302, 303, 307, 308].includes(code)) return new Response("no", { status: 404 });
      const location = to === "other"
        ? `${options.otherOrigin}/final/${rest.join("/")}`
        : to === "loop"
        ? url.pathname
        : `/final/${rest.join("/")}`;
      return new Response(null, { status: code, headers: { location } });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}
