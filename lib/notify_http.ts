/**
 * One HTTP delivery attempt: the request, redirects followed only when they keep the message,
 * and the response judged (retry or not, `Retry-After`, the start of an error body, scrubbed).
 *
 * @module
 */

import { readBounded } from "./body.ts";
import { type Attempt, bounded, type Delivering, describe } from "./notify_attempt.ts";
import type { Delivery } from "./notify_requests.ts";
import { scrub } from "./scrub.ts";

const RETRY_AFTER_CAP_MS = 10_000;
/** Redirects followed at most per request (307/308 to the same origin only). */
const MAX_REDIRECTS = 2;
/** Bytes of an error response kept for the log: enough for Slack's or Teams's error text. */
const ERROR_BODY_BYTES = 1024;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS) : undefined;
}

type HttpDelivery = Extract<Delivery, { kind: "http" }>;

/**
 * Send the request, following only a 307/308 to the same origin. Redirects are handled here,
 * not by fetch: fetch turns a 302 into a GET without the body (the message is lost while the
 * answer looks fine) and re-sends a 307's body to any host. Only a 307/308 to the same origin
 * keeps method, body and destination. Returns the final response, or the refusal to follow.
 */
async function fetchFollowingSafeRedirects(
  fetchFn: typeof fetch,
  delivery: HttpDelivery,
  signal: AbortSignal,
): Promise<Response | Attempt> {
  const headers: Record<string, string> = { "user-agent": "spot-termination-handler" };
  Object.assign(headers, delivery.headers);
  if (delivery.contentType) headers["content-type"] = delivery.contentType;
  let url = delivery.url;
  for (let hops = 0;; hops++) {
    const response = await fetchFn(url, {
      method: delivery.method,
      headers,
      body: delivery.body,
      signal,
      redirect: "manual",
    });
    if (!REDIRECTS.has(response.status)) return response;
    await response.body?.cancel().catch(() => {});
    const status = response.status;
    let next: URL | undefined;
    try {
      next = new URL(response.headers.get("location") ?? "", url);
    } catch {
      next = undefined;
    }
    const sameOrigin = next !== undefined && next.origin === new URL(url).origin;
    if ((status === 307 || status === 308) && sameOrigin && hops < MAX_REDIRECTS) {
      url = next!.href;
      continue;
    }
    const why = !sameOrigin
      ? "to another host"
      : status === 307 || status === 308
      ? "too many times"
      : "(only 307/308 keep the message)";
    return {
      ok: false,
      retry: false,
      status: String(status),
      error: `HTTP ${status} redirect ${why} not followed`,
    };
  }
}

/** The attempt a final HTTP response amounts to; an error body is kept, scrubbed, for the log. */
async function judgeResponse(response: Response, fragments: string[]): Promise<Attempt> {
  if (response.ok) {
    // The body is not used; cancelling frees the connection.
    await response.body?.cancel().catch(() => {});
    return { ok: true };
  }
  const status = response.status;
  const text = await readBounded(response, ERROR_BODY_BYTES, { truncate: true })
    .catch(() => "");
  return {
    ok: false,
    retry: status === 408 || status === 429 || status >= 500,
    status: String(status),
    error: `HTTP ${status}`,
    retryAfterMs: status === 429 || status === 503
      ? parseRetryAfter(response.headers.get("retry-after"), Date.now())
      : undefined,
    response: scrub(text.replace(/\s+/g, " ").trim(), fragments).slice(0, 200) || undefined,
  };
}

/** Send one HTTP request within the attempt's timeout; a network error is worth a retry. */
export function attemptHttp(
  ctx: Delivering,
  delivery: HttpDelivery,
  signal?: AbortSignal,
): Promise<Attempt> {
  return bounded(ctx.timeoutMs, signal, async (attemptSignal) => {
    const answer = await fetchFollowingSafeRedirects(ctx.fetch, delivery, attemptSignal);
    return answer instanceof Response ? await judgeResponse(answer, ctx.fragments) : answer;
  }, (error) => ({
    ok: false,
    retry: true,
    status: "network",
    error: `network error: ${describe(error, ctx.fragments)}`,
  }));
}
