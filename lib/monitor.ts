// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * The IMDS poll loop: each notice source is asked on its own schedule (spot every poll interval,
 * the slow sources less often), what it says is parsed into typed {@linkcode Notice}s with stable
 * ids, and each id goes to the handler once. IMDS trouble (timeouts, refusals, 5xx, redirects,
 * oversized or garbage answers, implausible times) is logged and counted per source, backs off
 * only that source, and never ends the loop.
 *
 * @module
 */

import { type Clock, type Sleep, sleep as realSleep } from "./_async.ts";
import { ImdsError } from "./imds.ts";
import type { Imds } from "./imds.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type FinishedEvent, finishedEvents } from "./maintenance.ts";
import { computeDeadline } from "./notice.ts";
import type { Notice } from "./notice.ts";
import { redactUrl } from "./redact.ts";

/** The IMDS paths polled for notices, relative to `/latest/`. */
export const NOTICE_PATHS = {
  instanceAction: "meta-data/spot/instance-action",
  terminationTime: "meta-data/spot/termination-time",
  rebalance: "meta-data/events/recommendations/rebalance",
  scheduledEvents: "meta-data/events/maintenance/scheduled",
  lifecycleState: "meta-data/autoscaling/target-lifecycle-state",
} as const;

/**
 * How often the slow sources are asked (never more often than the poll interval; spot's two
 * paths are asked every poll interval). Each rate follows the warning its source gives:
 *
 * - rebalance recommendation, 5 s: it comes minutes before an interruption when AWS can send it
 *   early, and together with the two-minute notice otherwise (then the spot paths see that one
 *   within a poll interval). 5 s of minutes is small, and it lets a drain or a warm-up start
 *   with nearly all of the early warning left.
 * - ASG target lifecycle state, 5 s: `Terminated` leaves the time of a termination lifecycle
 *   hook (30 s at the least, an hour by default; without a hook the group terminates at once and
 *   no poll rate helps). 5 s uses at most a sixth of the shortest hook.
 * - scheduled events, 60 s: AWS schedules maintenance days to weeks ahead and announces it by
 *   e-mail and AWS Health first; a minute of that is nothing.
 *
 * Not configurable: no operator setting would improve on these, and `POLL_INTERVAL` still
 * slows everything down when raised.
 */
export const SOURCE_INTERVALS_MS = {
  rebalance: 5_000,
  lifecycleState: 5_000,
  scheduledEvents: 60_000,
} as const;

/**
 * How far ahead a spot (instance-action, termination-time) or rebalance time may lie. AWS sends
 * spot notices two minutes ahead (hibernation: at once) and stamps a rebalance recommendation
 * with the time it was issued; ten minutes leaves room for a skewed node clock, and anything
 * later (9999-12-31, a year off) is a broken or hostile answer, not a deadline.
 */
export const SPOT_HORIZON_MS = 10 * 60_000;

/**
 * How far ahead a scheduled event's `NotBefore` may lie: AWS announces maintenance, stops and
 * retirements about two weeks ahead, and an event can be rescheduled up to its
 * `NotBeforeDeadline`, some weeks later again. 60 days covers both with room; beyond that the
 * date is treated as malformed rather than as a deadline months or millennia away.
 */
export const MAINTENANCE_HORIZON_MS = 60 * 86_400_000;

/** Options of {@linkcode createMonitor}. */
export interface MonitorOptions {
  /**
   * Pause between wake-ups, and spot's poll interval; the slow sources are asked every
   * {@linkcode SOURCE_INTERVALS_MS} (or this, when longer).
   */
  pollIntervalMs: number;
  /** Called once per notice id; not awaited by the poll loop (errors it throws or rejects are logged). */
  onNotice: (notice: Notice) => void | Promise<void>;
  logger: Logger;
  metrics?: Metrics;
  now?: Clock;
  /**
   * The pause between wake-ups (always `pollIntervalMs`, whatever IMDS does: polls run in the
   * background). Must resolve (or reject) promptly when the signal aborts.
   */
  sleep?: Sleep;
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
  /**
   * Poll until the signal aborts; resolves promptly then, once the requests in flight (cut by
   * the signal) have settled. Never rejects on IMDS trouble.
   */
  run(signal: AbortSignal): Promise<void>;
  /**
   * One round of every source whatever its schedule: dispatch notices not seen before to
   * `onNotice`, and return every notice IMDS reported in this round (deduplicated by id),
   * including ones dispatched earlier.
   */
  pollOnce(signal?: AbortSignal): Promise<Notice[]>;
  /** Health as of now, for `/healthz` and `/readyz`; see {@linkcode MonitorStatus}. */
  status(): MonitorStatus;
}

/** What the probes need to know about the loop, in milliseconds of the monitor's clock. */
export interface MonitorStatus {
  /** When the loop last started a wake-up (or the monitor was made): stale means it hangs. */
  lastRoundAt: number;
  /** When IMDS last answered any source (even with a malformed body); undefined until then. */
  lastSuccessAt?: number;
}

// A failing source backs off to this at most: detection must never lag far behind, however long
// IMDS has been failing.
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

/** Refuses a time further ahead than `horizonMs`: a deadline must be one AWS could mean. */
function withinHorizon(time: Date, now: Date, horizonMs: number, where: string): Date {
  if (time.getTime() - now.getTime() > horizonMs) {
    const limit = horizonMs >= 86_400_000
      ? `${horizonMs / 86_400_000} days`
      : `${horizonMs / 60_000} minutes`;
    throw new RangeError(
      `${where}: ${time.toISOString()} is more than ${limit} ahead; not a plausible notice time`,
    );
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
  const where = `${path} "time"`;
  const time = withinHorizon(parseRfc3339(value.time, where), now, SPOT_HORIZON_MS, where);
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
  const path = NOTICE_PATHS.terminationTime;
  const time = withinHorizon(parseRfc3339(body.trim(), path), now, SPOT_HORIZON_MS, path);
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
  const where = `${path} "noticeTime"`;
  const time = withinHorizon(parseRfc3339(value.noticeTime, where), now, SPOT_HORIZON_MS, where);
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
    const field = `${where} "NotBefore"`;
    const notBefore = withinHorizon(
      parseEventTime(e.NotBefore, field),
      now,
      MAINTENANCE_HORIZON_MS,
      field,
    );
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

/** One notice source with its own schedule, backoff and failure streak. */
interface Source {
  /** What is passed to `imds.get` (a path, or the `NOTICE_URL`). */
  request: string;
  /** How it is named in logs: the path, or the `NOTICE_URL` without user-info. */
  path: string;
  parse: (body: string, now: Date, marginMs?: number) => Notice[];
  /** Pause between polls while healthy. */
  everyMs: number;
  /** The loop-clock time (ms since `run` began) from which the next poll is due. */
  dueAt: number;
  /** Consecutive polls IMDS did not answer; drives this source's backoff. */
  failures: number;
  /** The logged failure streak (answered garbage included). */
  streak?: { failures: number; kind: string };
  inFlight?: Promise<Outcome>;
  /** The source whose answer of the same moment wins when both report one notice id. */
  defersTo?: Source;
  /** The last poll of this source was answered and understood. */
  healthy: boolean;
}

type Outcome =
  | { ok: true; notices: Notice[] }
  | { ok: false; kind: string; error: unknown; answered: boolean };

// Most answers are 404 (no notice): one shared outcome instead of one per poll.
const EMPTY: Outcome = Object.freeze({
  ok: true,
  notices: Object.freeze([]) as unknown as Notice[],
});

function errorKind(err: unknown): string {
  if (err instanceof ImdsError) {
    if (err.kind !== "http") return err.kind;
    return err.status ? `http_${Math.floor(err.status / 100)}xx` : "http";
  }
  // RangeError: a well-formed time beyond its plausible horizon.
  if (err instanceof SyntaxError || err instanceof TypeError || err instanceof RangeError) {
    return "malformed";
  }
  return "other";
}

/** What every poll shares: the client, the log, the clock, and the loop's memory. */
interface Polling {
  imds: Imds;
  logger: Logger;
  metrics?: Metrics;
  onNotice: MonitorOptions["onNotice"];
  now: Clock;
  safetyMarginMs?: number;
  /** Notice ids already handed to `onNotice`. */
  dispatched: Set<string>;
  health: MonitorStatus;
}

/** The notice sources, each on its own schedule; `interval` is the loop's wake-up. */
function createSources(
  interval: number,
  options: Pick<MonitorOptions, "noticeUrl" | "onFinishedEvents">,
): Source[] {
  const source = (request: string, parse: Source["parse"], everyMs: number): Source => ({
    request,
    path: redactUrl(request),
    parse,
    // An operator who slows POLL_INTERVAL down slows every source down with it.
    everyMs: Math.max(interval, everyMs),
    dueAt: -Infinity,
    failures: 0,
    // Until it fails, a source counts as answering: on the first round after a restart,
    // termination-time's notice still waits for instance-action's (stop or hibernate).
    healthy: true,
  });
  const instanceAction = source(
    NOTICE_PATHS.instanceAction,
    asList(parseInstanceAction),
    interval,
  );
  const terminationTime = source(
    options.noticeUrl ?? NOTICE_PATHS.terminationTime,
    asList(parseTerminationTime),
    interval,
  );
  // instance-action knows stop/hibernate, termination-time does not: for the same notice id the
  // former's answer is the one dispatched.
  terminationTime.defersTo = instanceAction;
  const sources: Source[] = [
    instanceAction,
    terminationTime,
    source(NOTICE_PATHS.rebalance, asList(parseRebalance), SOURCE_INTERVALS_MS.rebalance),
    source(
      NOTICE_PATHS.scheduledEvents,
      (body, time, margin) => {
        const notices = parseScheduledEvents(body, time, margin);
        options.onFinishedEvents?.(finishedEvents(body));
        return notices;
      },
      SOURCE_INTERVALS_MS.scheduledEvents,
    ),
    source(
      NOTICE_PATHS.lifecycleState,
      asList(parseLifecycleState),
      SOURCE_INTERVALS_MS.lifecycleState,
    ),
  ];
  return sources;
}

/** Ask one source and parse its answer; never rejects. */
async function poll(ctx: Polling, source: Source, signal?: AbortSignal): Promise<Outcome> {
  let body: string;
  try {
    const res = await ctx.imds.get(source.request, { signal });
    if (res.status === 404) return EMPTY;
    body = res.body;
  } catch (error) {
    return { ok: false, kind: errorKind(error), error, answered: false };
  }
  try {
    return { ok: true, notices: source.parse(body, ctx.now(), ctx.safetyMarginMs) };
  } catch (error) {
    return { ok: false, kind: errorKind(error), error, answered: true };
  }
}

/** Log a failure streak once (again when its kind changes) and its recovery. */
function track(ctx: Polling, source: Source, outcome: Outcome): void {
  const { logger, metrics } = ctx;
  const streak = source.streak;
  if (outcome.ok) {
    if (streak) {
      logger.info("IMDS poll recovered", { path: source.path, failures: streak.failures });
      source.streak = undefined;
    }
    return;
  }
  metrics?.inc("sth_imds_poll_errors_total", { kind: outcome.kind });
  const fields = { path: source.path, kind: outcome.kind, error: outcome.error };
  if (!streak) {
    source.streak = { failures: 1, kind: outcome.kind };
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

/** When this source is asked next: its interval, or its own backoff while IMDS misbehaves. */
function reschedule(source: Source, outcome: Outcome, startedAt: number): void {
  // A malformed answer is IMDS answering: asking again sooner or later changes nothing.
  const unanswered = !outcome.ok && !outcome.answered;
  source.failures = unanswered ? Math.min(source.failures + 1, 30) : 0;
  const delay = Math.min(
    source.everyMs * 2 ** source.failures,
    Math.max(source.everyMs, MAX_BACKOFF_MS),
  );
  source.dueAt = startedAt + delay;
  source.healthy = outcome.ok;
}

/** Hand a new notice to `onNotice`, not awaited; what it throws or rejects is logged. */
function dispatch(ctx: Polling, notice: Notice): void {
  const { logger, onNotice } = ctx;
  ctx.dispatched.add(notice.id);
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

/** Start one poll of `source`; it settles (logs, reschedules, dispatches) on its own. */
function launch(
  ctx: Polling,
  source: Source,
  startedAt: number,
  signal?: AbortSignal,
): Promise<Outcome> {
  // Captured before this poll starts: was the source it defers to healthy a moment ago?
  const leader = source.defersTo;
  const leaderPoll = leader?.healthy ? leader.inFlight : undefined;
  const running = poll(ctx, source, signal).then(async (outcome) => {
    if (signal?.aborted) return outcome;
    if (outcome.ok || outcome.answered) {
      ctx.health.lastSuccessAt = ctx.now().getTime();
      ctx.metrics?.set(
        "sth_last_successful_poll_timestamp_seconds",
        ctx.health.lastSuccessAt / 1000,
      );
    }
    track(ctx, source, outcome);
    reschedule(source, outcome, startedAt);
    if (outcome.ok && outcome.notices.length > 0) {
      // Bounded by the IMDS request timeout, and only while the leader answers normally.
      if (leaderPoll) await leaderPoll;
      for (const notice of outcome.notices) {
        if (!ctx.dispatched.has(notice.id)) dispatch(ctx, notice);
      }
    }
    return outcome;
  }).finally(() => {
    if (source.inFlight === running) source.inFlight = undefined;
  });
  source.inFlight = running;
  return running;
}

/** Count a round once every poll it started has settled; log an empty one at debug. */
function finishRound(
  ctx: Polling,
  polls: Promise<Outcome>[],
  signal?: AbortSignal,
): Promise<Outcome[]> {
  return Promise.all(polls).then((outcomes) => {
    if (signal?.aborted) return outcomes;
    ctx.metrics?.inc("sth_imds_polls_total");
    if (outcomes.every((o) => o.ok && o.notices.length === 0)) {
      ctx.logger.debug("IMDS poll found no notice");
    }
    return outcomes;
  });
}

/**
 * Create the poll loop over an IMDS client. Each source runs on its own schedule
 * ({@linkcode SOURCE_INTERVALS_MS}) with its own backoff, so a failing or hanging path never
 * delays another: the loop wakes every `pollIntervalMs`, starts the polls that are due and not
 * still in flight, and does not wait for them.
 *
 * @example
 * ```ts
 * import type { Imds } from "./imds.ts";
 * import { createLogger } from "./log.ts";
 * import type { Handler } from "./handler.ts";
 * declare const imds: Imds, handler: Handler;
 * const logger = createLogger();
 *
 * const monitor = createMonitor(imds, {
 *   pollIntervalMs: 1000,
 *   logger,
 *   onNotice: async (notice) => {
 *     await handler.handle(notice);
 *   },
 * });
 * const stop = new AbortController();
 * Deno.addSignalListener("SIGTERM", () => stop.abort());
 * await monitor.run(stop.signal);
 * ```
 */
export function createMonitor(imds: Imds, options: MonitorOptions): Monitor {
  const interval = options.pollIntervalMs;
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new RangeError(`pollIntervalMs must be a positive number, got ${interval}`);
  }
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? realSleep;
  const ctx: Polling = {
    imds,
    logger: options.logger,
    metrics: options.metrics,
    onNotice: options.onNotice,
    now,
    safetyMarginMs: options.safetyMarginMs,
    dispatched: new Set<string>(),
    // On the real clock, unlike the schedules: the probes compare it with their own wall clock.
    health: { lastRoundAt: now().getTime() },
  };
  // Schedules run on the loop's own clock, the sum of its sleeps, not on the wall clock: a clock
  // stepped back by an hour (NTP, a VM resumed) must not stop spot polling for an hour. A source
  // is due at the first wake-up within half an interval of its time, which also absorbs the
  // rounding of fractional intervals (POLL_INTERVAL=0.15).
  let loopClock = 0;
  const slack = interval / 2;
  const sources = createSources(interval, options);

  return {
    status: () => ({ ...ctx.health }),
    async pollOnce(signal) {
      const startedAt = loopClock;
      const polls = sources.map((s) => s.inFlight ?? launch(ctx, s, startedAt, signal));
      const outcomes = await finishRound(ctx, polls, signal);
      if (signal?.aborted) return [];
      const found = new Map<string, Notice>();
      for (const outcome of outcomes) {
        if (!outcome.ok) continue;
        for (const n of outcome.notices) if (!found.has(n.id)) found.set(n.id, n);
      }
      return [...found.values()];
    },
    async run(signal) {
      const rounds = new Set<Promise<unknown>>();
      while (!signal.aborted) {
        const at = loopClock;
        const polls: Promise<Outcome>[] = [];
        for (const s of sources) {
          if (!s.inFlight && at + slack >= s.dueAt) polls.push(launch(ctx, s, at, signal));
        }
        ctx.health.lastRoundAt = ctx.now().getTime();
        if (polls.length > 0) {
          const round = finishRound(ctx, polls, signal).finally(() => rounds.delete(round));
          rounds.add(round);
        }
        try {
          await sleep(interval, signal);
        } catch (err) {
          if (!signal.aborted) throw err;
        }
        loopClock += interval;
      }
      // The signal cut every request in flight; let them settle so nothing runs after return.
      await Promise.all(rounds);
    },
  };
}
