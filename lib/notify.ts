// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * Notification delivery: one message to every enabled target at once (lib/notify_targets.ts
 * says which and how), each attempt bounded by a timeout, with bounded retries; a result
 * message waits for its own target's start message only.
 *
 * Secrets (webhook URLs, keys, passwords) never reach a log line, an error or an outcome: errors
 * are described by status, and any text from below (fetch, SMTP) is scrubbed of URLs and of
 * every secret value (lib/scrub.ts) before it is used.
 *
 * @module
 */

import { pause, type Sleep, sleep as realSleep, timeoutSignal } from "./_async.ts";
import { readBounded } from "./body.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Message } from "./notify_message.ts";
import { validateNotifierEnv } from "./notify_env.ts";
import type { Delivery } from "./notify_requests.ts";
import { present, requested, TARGETS, type TargetSpec } from "./notify_targets.ts";
import { scrub, secretFragments } from "./scrub.ts";
import { createSmtpSender, type SmtpSender } from "./smtp.ts";
import { SmtpError } from "./smtp_session.ts";

export type { Message, NotifyContext } from "./notify_message.ts";
export type { WebhookEventV1 } from "./notify_webhook_event.ts";
export { notifierWarnings, validateNotifierEnv } from "./notify_env.ts";
export { NOTIFIER_VARIABLES, type NotifierVariable } from "./notify_targets.ts";

/**
 * How one target's delivery went. `error` never contains a URL, key or password.
 *
 * @example
 * ```ts
 * const failed: SendOutcome = { target: "slack", ok: false, attempts: 3, error: "HTTP 503" };
 * ```
 */
export interface SendOutcome {
  target: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

/**
 * Sends one message to every enabled target.
 *
 * @example
 * ```ts
 * declare const notifier: Notifier, message: Message;
 * const outcomes = await notifier.send(message, { signal: AbortSignal.timeout(20_000) });
 * const failed = outcomes.filter((o) => !o.ok).map((o) => o.target);
 * ```
 */
export interface Notifier {
  /** Enabled targets, in table order. */
  readonly targets: string[];
  /**
   * Deliver to all targets concurrently; never throws; one outcome per target. A result
   * message goes to each target once that target's start message for the same notice (if one
   * was sent through this notifier) has been delivered or has failed, independently of the
   * other targets: the caller need not wait for the start before sending the result.
   */
  send(message: Message, options?: { signal?: AbortSignal }): Promise<SendOutcome[]>;
}

/**
 * Options of {@linkcode createNotifier}.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics();
 *
 * const options: NotifierOptions = { logger: createLogger(), metrics, timeoutMs: 5000, retries: 3 };
 * ```
 */
export interface NotifierOptions {
  logger: Logger;
  metrics?: Metrics;
  fetch?: typeof fetch;
  /** Bound on one attempt: an HTTP request or a whole SMTP transaction. Default 5000 ms. */
  timeoutMs?: number;
  /** Attempts in total per target and message. Default 3. */
  retries?: number;
  /** Waits between attempts; tests pass one that returns at once. */
  sleep?: Sleep;
  /** Mail transport: one sender for every mail target, or a factory given the server URL. */
  smtp?: SmtpSender | ((serverUrl: string) => SmtpSender);
  /** Server of the Gmail target, default `smtps://smtp.gmail.com:465`; for tests. */
  gmailServer?: string;
}

const GMAIL_SERVER = "smtps://smtp.gmail.com:465";
const BACKOFF_BASE_MS = 500;
const RETRY_AFTER_CAP_MS = 10_000;
/** Redirects followed at most per request (307/308 to the same origin only). */
const MAX_REDIRECTS = 2;
/** Bytes of an error response kept for the log: enough for Slack's or Teams's error text. */
const ERROR_BODY_BYTES = 1024;
/** Notices whose start messages are remembered for their results (see `send`). */
const REMEMBERED_NOTICES = 16;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS) : undefined;
}

type Attempt =
  | { ok: true }
  | {
    ok: false;
    retry: boolean;
    status: string;
    error: string;
    retryAfterMs?: number;
    /** The start of the error response's body, scrubbed, for the log line. */
    response?: string;
  };

/** What every delivery of one notifier shares: its settings, transports and secrets. */
interface Delivering {
  logger: Logger;
  metrics?: Metrics;
  fetch: typeof fetch;
  timeoutMs: number;
  /** Attempts in total per target and message. */
  attempts: number;
  sleep: Sleep;
  smtpFor: (server: string) => SmtpSender;
  /** The set notifier variables, as the table's `deliver` reads them. */
  values: Record<string, string>;
  settings: { gmailServer: string };
  /** What {@linkcode scrub} removes from any text from below. */
  fragments: string[];
}

/** The error's message and its causes' (fetch puts the useful part, and the URL, there). */
function describe(error: unknown, fragments: string[]): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const text = current instanceof Error ? current.message : String(current);
    // Our own errors already quote their cause; do not say it twice.
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return scrub(parts.join(": "), fragments);
}

/** Run one attempt with its own timeout, also ended by the caller's signal. */
async function bounded(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<Attempt>,
  fail: (error: unknown) => Attempt,
): Promise<Attempt> {
  const cut = timeoutSignal(timeoutMs, signal);
  try {
    return await work(cut.signal);
  } catch (error) {
    if (signal?.aborted) return { ok: false, retry: false, status: "aborted", error: "aborted" };
    if (cut.timedOut()) {
      return {
        ok: false,
        retry: true,
        status: "timeout",
        error: `timed out after ${timeoutMs} ms`,
      };
    }
    return fail(error);
  } finally {
    cut.clear();
  }
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

function attemptHttp(
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

function attemptMail(
  ctx: Delivering,
  delivery: Extract<Delivery, { kind: "mail" }>,
  signal?: AbortSignal,
): Promise<Attempt> {
  return bounded(ctx.timeoutMs, signal, async (attemptSignal) => {
    await ctx.smtpFor(delivery.server).send(delivery.mail, { signal: attemptSignal });
    return { ok: true };
  }, (error) =>
    error instanceof SmtpError
      ? {
        ok: false,
        retry: error.transient,
        status: error.code === undefined ? error.step : String(error.code),
        error: describe(error, ctx.fragments),
      }
      : { ok: false, retry: false, status: "invalid", error: describe(error, ctx.fragments) });
}

/** Deliver one message to one target: attempts with backoff until one succeeds or is final. */
async function deliver(
  ctx: Delivering,
  spec: TargetSpec,
  message: Message,
  signal?: AbortSignal,
): Promise<SendOutcome> {
  const { logger, metrics } = ctx;
  const target = spec.target;
  const delivery = spec.deliver!(message, ctx.values, ctx.settings);
  if (signal?.aborted) {
    metrics?.inc("sth_notifications_total", { target, outcome: "failed" });
    logger.warn("notification not sent", { target, status: "aborted" });
    return { target, ok: false, attempts: 0, error: "aborted" };
  }
  for (let attempt = 1;; attempt++) {
    const result = delivery.kind === "http"
      ? await attemptHttp(ctx, delivery, signal)
      : await attemptMail(ctx, delivery, signal);
    if (result.ok) {
      metrics?.inc("sth_notifications_total", { target, outcome: "ok" });
      logger.info("notification sent", { target, phase: message.phase, attempts: attempt });
      return { target, ok: true, attempts: attempt };
    }
    if (!result.retry || attempt >= ctx.attempts || signal?.aborted) {
      metrics?.inc("sth_notifications_total", { target, outcome: "failed" });
      logger.warn("notification failed", {
        target,
        status: result.status,
        attempts: attempt,
        error: result.error,
        response: result.response,
      });
      return { target, ok: false, attempts: attempt, error: result.error };
    }
    const waitMs = result.retryAfterMs ?? BACKOFF_BASE_MS * 2 ** (attempt - 1);
    logger.debug("notification attempt failed; retrying", {
      target,
      status: result.status,
      attempt,
      waitMs,
    });
    await pause(ctx.sleep, waitMs, signal);
  }
}

/** {@linkcode deliver}, with any throw (a payload builder, a logger) made a failed outcome. */
function deliverSafely(
  ctx: Delivering,
  spec: TargetSpec,
  message: Message,
  signal?: AbortSignal,
): Promise<SendOutcome> {
  return deliver(ctx, spec, message, signal).catch((error): SendOutcome => {
    // A payload builder or logger failing must not fail the handler.
    ctx.metrics?.inc("sth_notifications_total", { target: spec.target, outcome: "failed" });
    const detail = describe(error, ctx.fragments);
    ctx.logger.warn("notification failed", { target: spec.target, error: detail });
    return { target: spec.target, ok: false, attempts: 0, error: detail };
  });
}

/** The shared settings of {@linkcode createNotifier}, defaults filled in. */
function delivering(values: Record<string, string>, options: NotifierOptions): Delivering {
  const smtp = options.smtp;
  return {
    logger: options.logger,
    metrics: options.metrics,
    fetch: options.fetch ?? fetch,
    timeoutMs: options.timeoutMs ?? 5000,
    attempts: Math.max(1, options.retries ?? 3),
    sleep: options.sleep ?? realSleep,
    smtpFor: (server) =>
      smtp === undefined
        ? createSmtpSender(server)
        : typeof smtp === "function"
        ? smtp(server)
        : smtp,
    values,
    settings: { gmailServer: options.gmailServer ?? GMAIL_SERVER },
    fragments: secretFragments(values),
  };
}

/**
 * Create the notifier for the enabled targets in `env` (only the notifier variables; config
 * passes them). Throws a TypeError listing the problems of {@linkcode validateNotifierEnv}
 * when `env` is invalid; config reports those at start-up before getting here.
 *
 * Retries: 5xx, 408, 429 (waiting `Retry-After`, capped at 10 s), timeouts, network errors and
 * SMTP 4xx replies are retried with exponential backoff (0.5 s, 1 s, ...); other 4xx replies and
 * SMTP 5xx replies are final.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * declare const message: Message;
 *
 * const notifier = createNotifier({ SLACK_URL: "https://hooks.slack.com/services/T/B/X" }, {
 *   logger: createLogger(),
 * });
 * const outcomes = await notifier.send(message); // [{ target: "slack", ok: true, attempts: 1 }]
 * ```
 */
export function createNotifier(env: Record<string, string>, options: NotifierOptions): Notifier {
  const problems = validateNotifierEnv(env);
  if (problems.length > 0) throw new TypeError(`notifier settings: ${problems.join("; ")}`);
  const values = present(env);
  const active = TARGETS.filter((t) => t.deliver && requested(t, values));
  const ctx = delivering(values, options);
  // Start deliveries by notice id and target: a result waits for its own target's start only,
  // so one slow or dead target never holds back the others' results.
  const starts = new Map<string, Map<string, Promise<SendOutcome>>>();

  return {
    targets: active.map((t) => t.target),
    send(message, sendOptions = {}) {
      const id = message.notice.id;
      if (message.phase === "start") {
        const byTarget = new Map<string, Promise<SendOutcome>>();
        const all = active.map((spec) => {
          const p = deliverSafely(ctx, spec, message, sendOptions.signal);
          byTarget.set(spec.target, p);
          return p;
        });
        starts.delete(id);
        starts.set(id, byTarget);
        // Bounded: a start whose result never comes (a crash, a dropped notice) is forgotten.
        while (starts.size > REMEMBERED_NOTICES) starts.delete(starts.keys().next().value!);
        return Promise.all(all);
      }
      const byTarget = starts.get(id);
      starts.delete(id);
      return Promise.all(active.map(async (spec) => {
        await byTarget?.get(spec.target);
        return deliverSafely(ctx, spec, message, sendOptions.signal);
      }));
    },
  };
}
