/**
 * What a hostile or broken IMDS stand-in answers with, for the mock IMDS's hostile faults
 * (`fault({ body: "endless" })`, `fault({ redirect })`) and the tests that use them: bodies that
 * would exhaust memory or time if read without limits, and a second listener on another loopback
 * port that records whatever a client sends it after a redirect (token header included).
 *
 * @module
 */

/**
 * A hostile body:
 * - `huge`: 100 MB of `A`, with its `Content-Length` declared, as a real server would;
 * - `endless`: chunked, 64 KiB chunks for as long as the client reads;
 * - `drip`: chunked, one byte every 100 ms, never ending.
 */
export type HostileBody = "huge" | "endless" | "drip";

/** All hostile body kinds, for validation and loops in tests. */
export const HOSTILE_BODIES: readonly HostileBody[] = ["huge", "endless", "drip"];

/** The size of the `huge` body. */
export const HUGE_BODY_BYTES = 100 * 1024 * 1024;

const CHUNK = new Uint8Array(64 * 1024).fill(0x41);
const DRIP_MS = 100;

/**
 * A 200 response with a hostile body. Chunks are made as the client pulls them, so the stand-in
 * itself stays small; the body ends when the client cancels it or `signal` aborts (the mock's
 * close), so no timer outlives a test.
 *
 * @example
 * ```ts
 * const res = hostileResponse("endless", AbortSignal.timeout(1000));
 * ```
 */
export function hostileResponse(kind: HostileBody, signal: AbortSignal): Response {
  let sent = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = () => {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      onAbort = () => {
        stop();
        try {
          controller.close();
        } catch {
          // Already closed or cancelled.
        }
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
    },
    pull(controller) {
      if (signal.aborted) return;
      if (kind === "drip") {
        return new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            if (!signal.aborted) controller.enqueue(CHUNK.subarray(0, 1));
            resolve();
          }, DRIP_MS);
        });
      }
      if (kind === "huge") {
        const n = Math.min(CHUNK.byteLength, HUGE_BODY_BYTES - sent);
        controller.enqueue(CHUNK.subarray(0, n));
        sent += n;
        if (sent >= HUGE_BODY_BYTES) {
          stop();
          controller.close();
        }
        return;
      }
      controller.enqueue(CHUNK);
    },
    cancel() {
      stop();
    },
  }, { highWaterMark: 0 });
  const headers: Record<string, string> = { "content-type": "text/plain" };
  if (kind === "huge") headers["content-length"] = String(HUGE_BODY_BYTES);
  return new Response(body, { status: 200, headers });
}

/** One request a {@linkcode TokenTrap} received. */
export interface TrapRequest {
  method: string;
  path: string;
  /** The IMDSv2 token header's value, or null when none was sent. */
  token: string | null;
}

/** The other host of a redirect; see {@linkcode startTokenTrap}. */
export interface TokenTrap {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly requests: TrapRequest[];
  close(): Promise<void>;
}

/**
 * A listener on another loopback port standing for "another host": it records every request
 * (and the token header, if one came) and answers like an IMDS would, a token for a PUT and a
 * spot notice for a GET, so a client that follows a redirect here both leaks the token and
 * takes a foreign answer as IMDS's.
 *
 * @example
 * ```ts
 * const trap = startTokenTrap();
 * mock.fault({ redirect: `${trap.url}/latest/api/token`, path: "api/token" });
 * // ... poll ...
 * assert.deepEqual(trap.requests, []);
 * await trap.close();
 * ```
 */
export function startTokenTrap(): TokenTrap {
  const requests: TrapRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    requests.push({
      method: req.method,
      path: new URL(req.url).pathname,
      token: req.headers.get("x-aws-ec2-metadata-token"),
    });
    const body = req.method === "PUT"
      ? "token-from-another-host"
      : JSON.stringify({ action: "terminate", time: new Date(Date.now() + 120_000) });
    return new Response(body, { status: 200 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
}
