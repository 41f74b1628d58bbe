/**
 * The IMDS poll loop: each round asks every notice source at once, parses what it finds into
 * typed {@linkcode Notice}s with stable ids, and hands each id to the handler once. IMDS
 * trouble (timeouts, refusals, 5xx, garbage) is logged and counted but never ends the loop.
 *
 * @module
 */

import { ImdsError } from "./imds.ts";
import type { Imds } from "./imds.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type FinishedEvent, finishedEvents } from "./maintenance.ts";
import { computeDeadline } from "./notice.ts";
import type { Notice } from "./notice.ts";

/** The IMDS paths polled for notices, relative to `/latest/`. */
export const NOTICE_PATHS = {
  instanceAction: "meta-data/spot/instance-action",
  terminationTime: "meta-data/spot/termination-time",
  rebalance: "meta-data/events/recommendations/rebalance",
  scheduledEvents: "meta-data/events/maintenance/scheduled",
  lifecycleState: "meta-data/autoscaling/target-lifecycle-state",
} as const;

/** Options of {@linkcode createMonitor}. */
export interface MonitorOptions {
  /** Pause between rounds while IMDS is healthy. */
  pollIntervalMs: number;
  /** Called once per notice id; not awaited by the poll loop (errors it throws or rejects are logged). */
  onNotice: (notice: Notice) => void | Promise<void>;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** Must resolve (or reject) promptly when the signal aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The old script's `NOTICE_URL`: polled as the legacy termination-time endpoint instead of the default one. */
  noticeUrl?: string;
  safetyMarginMs?: number;
  /**
   * Called with the completed and canceled maintenance events after each readable answer of the
   * scheduled-events path (the same list every round; the receiver dedupes).
   */
  onFinishedEvents?: (events: FinishedEvent[]) => void;
}

/** The poll loop; see {@linkcode createMonitor}. */
export interface Monitor {
  /** Poll until the signal aborts; resolves promptly then. Never rejects on IMDS trouble. */
  run(signal: AbortSignal): Promise<void>;
  /**
   * One round: dispatch notices not seen before to `onNotice`, and return every notice IMDS
   * reported in this round (deduplicated by id), including ones dispatched earlier.
   */
  pollOnce(signal?: AbortSignal): Promise<Notice[]>;
}

// Detection must never lag far behind, however long IMDS has been failing.
const MAX_BACKOFF_MS = 10_000;
const EVENT_TIME =
  /^(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const FINISHED_STATES = new Set(["completed", "canceled", "cancelled"]);

function quote(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text);
}

function parseRfc3339(value: unknown, where: string): Date {
  if (typeof value !== "string") throw new TypeError(`${where}: expected an RFC 3339 time string`);
  const time = RFC3339.test(value) ? new Date(value) : undefined;
  if (!time || isNaN(time.getTime())) {
    throw new SyntaxError(`${where}: not an RFC 3339 time: ${quote(value)}`);
  }
  return time;
}

function parseEventTime(value: unknown, where: string): Date {
  if (typeof value !== "string") throw new TypeError(`${where}: expected a time string`);
  const m = EVENT_TIME.exec(value.trim());
  if (!m) {
    // Be lenient if AWS ever switches these to RFC 3339 like the other endpoints.
    if (RFC3339.test(value.trim())) return parseRfc3339(value.trim(), where);
    throw new SyntaxError(`${where}: not a time like "21 Jan 2019 09:00:43 GMT": ${quote(value)}`);
  }
  const [day, month, year, h, min, s] = [
    Number(m[1]),
    MONTHS.indexOf(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  ];
  const time = new Date(Date.UTC(year, month, day, h, min, s));
  // Date.UTC rolls 31 Feb over into March; a real IMDS never says that, garbage might.
  if (time.getUTCDate() !== day || h > 23 || min > 59 || s > 59) {
    throw new SyntaxError(`${where}: no such time: ${quote(value)}`);
  }
  return time;
}

/** `2026-11-25T10:02:00Z`: ISO without zero milliseconds, so ids read like the IMDS value. */
function idTime(time: Date): string {
  return time.toISOString().replace(/\.000Z$/, "Z");
}

function parseJsonObject(body: string, path: string): Record<string, unknown> {
  const value = parseJson(body, path);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path}: expected a JSON object, got ${quote(body.trim())}`);
  }
  return value as Record<string, unknown>;
}

function parseJson(body: string, path: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new SyntaxError(
      `${path}: malformed JSON (${err instanceof Error ? err.message : err}): ${quote(body)}`,
    );
  }
}

function spotNotice(time: Date, action: string, raw: string, now: Date, marginMs?: number) {
  return {
    id: `spot-interruption:${idTime(time)}`,
    kind: "spot-interruption",
    noticeTime: time,
    deadline: computeDeadline(time, now, marginMs),
    action,
    raw,
  } satisfies Notice;
}

/**
 * Parse `meta-data/spot/instance-action` (`{"action":"terminate","time":"…"}`).
 *
 * @example
 * ```ts
 * const n = parseInstanceAction('{"action":"stop","time":"2026-11-25T10:02:00Z"}', new Date());
 * n.id; // "spot-interruption:2026-11-25T10:02:00Z"
 * ```
 */
export function parseInstanceAction(body: string, now: Date, marginMs?: number): Notice {
  const path = NOTICE_PATHS.instanceAction;
  const value = parseJsonObject(body, path);
  if (typeof value.action !== "string" || value.action.trim() === "") {
    throw new TypeError(`${path}: "action" must be a non-empty string, got ${quote(body)}`);
  }
  const time = parseRfc3339(value.time, `${path} "time"`);
  return spotNotice(time, value.action.trim(), body, now, marginMs);
}

/**
 * Parse `meta-data/spot/termination-time` (a plain RFC 3339 time). The id equals the one
 * {@linkcode parseInstanceAction} gives for the same time, so both sources dedupe to one notice.
 *
 * @example
 * ```ts
 * parseTerminationTime("2026-11-25T10:02:00Z", new Date()).action; // "terminate"
 * ```
 */
export function parseTerminationTime(body: string, now: Date, marginMs?: number): Notice {
  const time = parseRfc3339(body.trim(), NOTICE_PATHS.terminationTime);
  return spotNotice(time, "terminate", body, now, marginMs);
}

/**
 * Parse `meta-data/events/recommendations/rebalance` (`{"noticeTime":"…"}`). The notice time
 * is when AWS issued the recommendation, so the deadline is now + 120 s minus the margin.
 *
 * @example
 * ```ts
 * parseRebalance('{"noticeTime":"2026-11-25T10:00:00Z"}', new Date()).id;
 * // "rebalance-recommendation"
 * ```
 */
export function parseRebalance(body: string, now: Date, marginMs?: number): Notice {
  const path = NOTICE_PATHS.rebalance;
  const value = parseJsonObject(body, path);
  const time = parseRfc3339(value.noticeTime, `${path} "noticeTime"`);
  return {
    // An instance gets one rebalance recommendation in its life. Some mocks (AEMM by default)
    // stamp each answer with the request time; keying the id on it would re-notify every poll.
    id: "rebalance-recommendation",
    kind: "rebalance-recommendation",
    noticeTime: time,
    deadline: computeDeadline(time, now, marginMs),
    action: "rebalance",
    raw: body,
  };
}

/**
 * Parse `meta-data/events/maintenance/scheduled`: one notice per event that is not Completed or
 * Canceled, keyed by its `EventId`, due at its `NotBefore`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify([{
 *   Code: "system-reboot", Description: "scheduled reboot", State: "active",
 *   EventId: "instance-event-0d59937288b749b32", NotBefore: "21 Jan 2019 09:00:43 GMT",
 * }]);
 * parseScheduledEvents(body, new Date())[0].id; // "scheduled-maintenance:instance-event-0d59937288b749b32"
 * ```
 */
export function parseScheduledEvents(body: string, now: Date, marginMs?: number): Notice[] {
  const path = NOTICE_PATHS.scheduledEvents;
  if (body.trim() === "") return [];
  const value = parseJson(body, path);
  if (!Array.isArray(value)) {
    throw new TypeError(`${path}: expected a JSON array, got ${quote(body.trim())}`);
  }
  const notices: Notice[] = [];
  value.forEach((event: unknown, i) => {
    const where = `${path}[${i}]`;
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      throw new TypeError(`${where}: expected an object, got ${quote(event)}`);
    }
    const e = event as Record<string, unknown>;
    for (const field of ["Code", "EventId", "State"]) {
      if (typeof e[field] !== "string" || e[field] === "") {
        throw new TypeError(`${where}: "${field}" must be a non-empty string`);
      }
    }
    if (FINISHED_STATES.has((e.State as string).toLowerCase())) return;
    const notBefore = parseEventTime(e.NotBefore, `${where} "NotBefore"`);
    // Only shown in messages: an unreadable NotAfter must not hide the event itself.
    let notAfter: Date | undefined;
    try {
      if (e.NotAfter !== undefined) notAfter = parseEventTime(e.NotAfter, where);
    } catch { /* left out */ }
    notices.push({
      id: `scheduled-maintenance:${e.EventId}`,
      kind: "scheduled-maintenance",
      noticeTime: notBefore,
      deadline: computeDeadline(notBefore, now, marginMs),
      ...(notAfter ? { notAfter } : {}),
      action: e.Code as string,
      raw: JSON.stringify(event),
    });
  });
  return notices;
}

/**
 * Parse `meta-data/autoscaling/target-lifecycle-state`: `Terminated` means the Auto Scaling
 * group is about to terminate this instance; every other state (`InService`, …) is no notice.
 *
 * @example
 * ```ts
 * parseLifecycleState("InService", new Date()); // null
 * parseLifecycleState("Terminated", new Date())?.id; // "asg-termination:Terminated"
 * ```
 */
export function parseLifecycleState(body: string, now: Date, marginMs?: number): Notice | null {
  const state = body.trim();
  if (!/^[A-Za-z]+(?::[A-Za-z]+)?$/.test(state)) {
    throw new SyntaxError(`${NOTICE_PATHS.lifecycleState}: not a lifecycle state: ${quote(body)}`);
  }
  if (state !== "Terminated") return null;
  return {
    id: "asg-termination:Terminated",
    kind: "asg-termination",
    noticeTime: now,
    deadline: computeDeadline(undefined, now, marginMs),
    action: state,
    raw: body,
  };
}

type SingleParser = (body: string, now: Date, marginMs?: number) => Notice | null;

function asList(parse: SingleParser): Source["parse"] {
  return (body, now, marginMs) => {
    const notice = parse(body, now, marginMs);
    return notice ? [notice] : [];
  };
}

interface Source {
  path: string;
  parse: (body: string, now: Date, marginMs?: number) => Notice[];
}

type Outcome =
  | { path: string; ok: true; notices: Notice[] }
  | { path: string; ok: false; kind: string; error: unknown; answered: boolean };

function errorKind(err: unknown): string {
  if (err instanceof ImdsError) {
    if (err.kind !== "http") return err.kind;
    return err.status ? `http_${Math.floor(err.status / 100)}xx` : "http";
  }
  if (err instanceof SyntaxError || err instanceof TypeError) return "malformed";
  return "other";
}

/**
 * Wait `ms`, or less when the signal aborts: resolves either way, never rejects. The monitor's
 * default sleep.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * await abortableSleep(1000, stop.signal);
 * ```
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Create the poll loop over an IMDS client.
 *
 * @example
 * ```ts
 * const monitor = createMonitor(imds, {
 *   pollIntervalMs: 1000,
 *   logger,
 *   onNotice: (notice) => handler.handle(notice),
 * });
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGTERM", () => stop.abort());
 * await monitor.run(stop.signal);
 * ```
 */
export function createMonitor(imds: Imds, options: MonitorOptions): Monitor {
  const { logger, metrics, onNotice, safetyMarginMs } = options;
  const interval = options.pollIntervalMs;
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new RangeError(`pollIntervalMs must be a positive number, got ${interval}`);
  }
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? abortableSleep;
  const maxDelay = Math.max(interval, MAX_BACKOFF_MS);
  // Order matters within a round: instance-action knows stop/hibernate, termination-time does not.
  const sources: Source[] = [
    { path: NOTICE_PATHS.instanceAction, parse: asList(parseInstanceAction) },
    {
      path: options.noticeUrl ?? NOTICE_PATHS.terminationTime,
      parse: asList(parseTerminationTime),
    },
    { path: NOTICE_PATHS.rebalance, parse: asList(parseRebalance) },
    {
      path: NOTICE_PATHS.scheduledEvents,
      parse: (body, time, margin) => {
        const notices = parseScheduledEvents(body, time, margin);
        options.onFinishedEvents?.(finishedEvents(body));
        return notices;
      },
    },
    { path: NOTICE_PATHS.lifecycleState, parse: asList(parseLifecycleState) },
  ];
  const dispatched = new Set<string>();
  const streaks = new Map<string, { failures: number; kind: string }>();

  async function pollSource(source: Source, signal?: AbortSignal): Promise<Outcome> {
    let body: string;
    try {
      const res = await imds.get(source.path, { signal });
      if (res.status === 404) return { path: source.path, ok: true, notices: [] };
      body = res.body;
    } catch (error) {
      return { path: source.path, ok: false, kind: errorKind(error), error, answered: false };
    }
    try {
      return { path: source.path, ok: true, notices: source.parse(body, now(), safetyMarginMs) };
    } catch (error) {
      return { path: source.path, ok: false, kind: errorKind(error), error, answered: true };
    }
  }

  function track(outcome: Outcome): void {
    const streak = streaks.get(outcome.path);
    if (outcome.ok) {
      if (streak) {
        logger.info("IMDS poll recovered", { path: outcome.path, failures: streak.failures });
        streaks.delete(outcome.path);
      }
      return;
    }
    metrics?.inc("sth_imds_poll_errors_total", { kind: outcome.kind });
    const fields = { path: outcome.path, kind: outcome.kind, error: outcome.error };
    if (!streak) {
      streaks.set(outcome.path, { failures: 1, kind: outcome.kind });
      logger.warn("IMDS poll failed", fields);
    } else if (streak.kind !== outcome.kind) {
      streak.failures++;
      streak.kind = outcome.kind;
      logger.warn("IMDS poll failed", { ...fields, failures: streak.failures });
    } else {
      streak.failures++;
      logger.debug("IMDS poll still failing", { ...fields, failures: streak.failures });
    }
  }

  function dispatch(notice: Notice): void {
    dispatched.add(notice.id);
    logger.info("notice received", {
      id: notice.id,
      kind: notice.kind,
      action: notice.action,
      noticeTime: notice.noticeTime,
      deadline: notice.deadline,
    });
    const report = (error: unknown) =>
      logger.error("notice handler failed", { id: notice.id, error });
    try {
      const result = onNotice(notice);
      if (result) Promise.resolve(result).catch(report);
    } catch (error) {
      report(error);
    }
  }

  /** One round; `failed` means IMDS itself misbehaved (not a malformed answer), for backoff. */
  async function round(signal?: AbortSignal): Promise<{ notices: Notice[]; failed: boolean }> {
    const outcomes = await Promise.all(sources.map((s) => pollSource(s, signal)));
    if (signal?.aborted) return { notices: [], failed: false };
    metrics?.inc("sth_imds_polls_total");
    if (outcomes.some((o) => o.ok || o.answered)) {
      metrics?.set("sth_last_successful_poll_timestamp_seconds", now().getTime() / 1000);
    }
    const found = new Map<string, Notice>();
    for (const outcome of outcomes) {
      track(outcome);
      if (!outcome.ok) continue;
      for (const notice of outcome.notices) if (!found.has(notice.id)) found.set(notice.id, notice);
    }
    const notices = [...found.values()];
    for (const notice of notices) if (!dispatched.has(notice.id)) dispatch(notice);
    if (notices.length === 0 && outcomes.every((o) => o.ok)) {
      logger.debug("IMDS poll found no notice");
    }
    return { notices, failed: outcomes.some((o) => !o.ok && !o.answered) };
  }

  return {
    async pollOnce(signal) {
      return (await round(signal)).notices;
    },
    async run(signal) {
      let failedRounds = 0;
      while (!signal.aborted) {
        const { failed } = await round(signal);
        if (signal.aborted) break;
        failedRounds = failed ? Math.min(failedRounds + 1, 30) : 0;
        const delay = Math.min(interval * 2 ** failedRounds, maxDelay);
        try {
          await sleep(delay, signal);
        } catch (err) {
          if (signal.aborted) break;
          throw err;
        }
      }
    },
  };
}
