/**
 * Notification delivery: one message to every enabled target at once (lib/notify_targets.ts
 * says which and how), each attempt bounded by a timeout (lib/notify_attempt.ts; the transports
 * are lib/notify_http.ts and lib/notify_mail.ts), with bounded retries; a result message waits
 * for its own target's start message only.
 *
 * Secrets (webhook URLs, keys, passwords) never reach a log line, an error or an outcome: errors
 * are described by status, and any text from below (fetch, SMTP) is scrubbed of URLs and of
 * every secret value (lib/scrub.ts) before it is used.
 *
 * @module
 */

import { pause, type Sleep, sleep as realSleep } from "./_async.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type Delivering, describe } from "./notify_attempt.ts";
import { validateNotifierEnv } from "./notify_env.ts";
import { attemptHttp } from "./notify_http.ts";
import { attemptMail } from "./notify_mail.ts";
import type { Message } from "./notify_message.ts";
import { present, requested, TARGETS, type TargetSpec } from "./notify_targets.ts";
import { secretFragments } from "./scrub.ts";
import { createSmtpSender, type SmtpSender } from "./smtp.ts";

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
 * import type { Message } from "./notify_message.ts";
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
/** Notices whose start messages are remembered for their results (see `send`). */
const REMEMBERED_NOTICES = 16;

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
 * import type { Message } from "./notify_message.ts";
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
