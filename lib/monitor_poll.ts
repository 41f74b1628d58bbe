/**
 * One poll of one notice source, in the order its data flows: ask IMDS ({@linkcode launch}),
 * read the answer with the source's parser, count and log a failure streak, reschedule the
 * source (its interval, or its own backoff), then hand new notices to the handler. A round is
 * counted once all its polls have settled ({@linkcode finishRound}). The loop that decides when
 * to launch is `lib/monitor.ts`.
 *
 * @module
 */

import type { Clock } from "./_async.ts";
import { ImdsError } from "./imds_http.ts";
import type { Imds } from "./imds.ts";
import type { Logger } from "./log.ts";
import type { FinishedEvent } from "./maintenance.ts";
import type { Metrics } from "./metrics.ts";
import { type Notice, noticeKey } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";
import { redactUrl } from "./redact.ts";

// A failing source backs off to this at most: detection must never lag far behind, however long
// IMDS has been failing.
const MAX_BACKOFF_MS = 10_000;

/** A source of the table as the loop runs it: its schedule, backoff and failure streak. */
export interface SourceState {
  source: NoticeSource;
  /** What is passed to `imds.get` (a path, or the `NOTICE_URL`). */
  request: string;
  /** How it is named in logs: the path, or the `NOTICE_URL` without user-info. */
  path: string;
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
  defersTo?: SourceState;
  /** The last poll of this source was answered and understood. */
  healthy: boolean;
}

/** What one poll came to. */
export type Outcome =
  | { ok: true; notices: Notice[] }
  | { ok: false; kind: string; error: unknown; answered: boolean };

/** What every poll shares: the client, the log, the clock, and the loop's memory. */
export interface Polling {
  imds: Imds;
  logger: Logger;
  metrics?: Metrics;
  onNotice: (notice: Notice) => void | Promise<void>;
  onFinishedEvents?: (events: FinishedEvent[]) => void;
  now: Clock;
  safetyMarginMs?: number;
  /** Notices already handed to `onNotice`, by {@linkcode noticeKey} (id, plus revision). */
  dispatched: Set<string>;
  /** Written here, read by `monitor.status()`. */
  health: { lastRoundAt: number; lastSuccessAt?: number };
}

// Most answers are 404 (no notice): one shared outcome instead of one per poll.
const EMPTY: Outcome = Object.freeze({
  ok: true,
  notices: Object.freeze([]) as unknown as Notice[],
});

/**
 * The loop's state for each source of `table`, in its order; `interval` is the loop's wake-up.
 *
 * @example
 * ```ts
 * import { NOTICE_SOURCES } from "./sources.ts";
 * createSources(NOTICE_SOURCES, 1000).map((s) => s.everyMs); // [1000, 1000, 5000, 60000, 5000]
 * ```
 */
export function createSources(
  table: Readonly<Record<string, NoticeSource>>,
  interval: number,
  noticeUrl?: string,
): SourceState[] {
  const states = new Map<NoticeSource, SourceState>();
  for (const source of Object.values(table)) {
    const request = source.replacedByNoticeUrl ? noticeUrl ?? source.path : source.path;
    states.set(source, {
      source,
      request,
      path: redactUrl(request),
      // An operator who slows POLL_INTERVAL down slows every source down with it.
      everyMs: Math.max(interval, source.everyMs ?? interval),
      dueAt: -Infinity,
      failures: 0,
      // Until it fails, a source counts as answering: on the first round after a restart,
      // termination-time's notice still waits for instance-action's (stop or hibernate).
      healthy: true,
    });
  }
  for (const state of states.values()) {
    const leader = state.source.defersTo;
    if (!leader) continue;
    state.defersTo = states.get(leader);
    if (!state.defersTo) {
      throw new TypeError(
        `notice source ${state.source.path} defers to ${leader.path}, which is not in the table`,
      );
    }
  }
  return [...states.values()];
}

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

/** Ask one source and read its answer; never rejects. */
async function poll(ctx: Polling, state: SourceState, signal?: AbortSignal): Promise<Outcome> {
  let body: string;
  try {
    const res = await ctx.imds.get(state.request, { signal });
    if (res.status === 404) return EMPTY;
    body = res.body;
  } catch (error) {
    return { ok: false, kind: errorKind(error), error, answered: false };
  }
  try {
    const { source } = state;
    const notices = source.parse(body, ctx.now(), ctx.safetyMarginMs);
    if (source.finished) ctx.onFinishedEvents?.(source.finished(body));
    return { ok: true, notices };
  } catch (error) {
    return { ok: false, kind: errorKind(error), error, answered: true };
  }
}

/** Log a failure streak once (again when its kind changes) and its recovery. */
function track(ctx: Polling, state: SourceState, outcome: Outcome): void {
  const { logger, metrics } = ctx;
  const streak = state.streak;
  if (outcome.ok) {
    if (streak) {
      logger.info("IMDS poll recovered", { path: state.path, failures: streak.failures });
      state.streak = undefined;
    }
    return;
  }
  metrics?.inc("sth_imds_poll_errors_total", { kind: outcome.kind });
  const fields = { path: state.path, kind: outcome.kind, error: outcome.error };
  if (!streak) {
    state.streak = { failures: 1, kind: outcome.kind };
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
function reschedule(state: SourceState, outcome: Outcome, startedAt: number): void {
  // A malformed answer is IMDS answering: asking again sooner or later changes nothing.
  const unanswered = !outcome.ok && !outcome.answered;
  state.failures = unanswered ? Math.min(state.failures + 1, 30) : 0;
  const delay = Math.min(
    state.everyMs * 2 ** state.failures,
    Math.max(state.everyMs, MAX_BACKOFF_MS),
  );
  state.dueAt = startedAt + delay;
  state.healthy = outcome.ok;
}

/** Hand a new notice to `onNotice`, not awaited; what it throws or rejects is logged. */
function dispatch(ctx: Polling, notice: Notice): void {
  const { logger, onNotice } = ctx;
  ctx.dispatched.add(noticeKey(notice));
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

/** IMDS answered (even with garbage): the probes and the metric learn it is alive. */
function markAnswered(ctx: Polling): void {
  ctx.health.lastSuccessAt = ctx.now().getTime();
  ctx.metrics?.set("sth_last_successful_poll_timestamp_seconds", ctx.health.lastSuccessAt / 1000);
}

/**
 * Start one poll of `state`; it settles (logs, reschedules, dispatches) on its own.
 *
 * @example
 * ```ts
 * declare const ctx: Polling, state: SourceState;
 * const outcome = await launch(ctx, state, 0);
 * ```
 */
export function launch(
  ctx: Polling,
  state: SourceState,
  startedAt: number,
  signal?: AbortSignal,
): Promise<Outcome> {
  // Captured before this poll starts: was the source it defers to healthy a moment ago?
  const leader = state.defersTo;
  const leaderPoll = leader?.healthy ? leader.inFlight : undefined;
  const running = poll(ctx, state, signal).then(async (outcome) => {
    if (signal?.aborted) return outcome;
    if (outcome.ok || outcome.answered) markAnswered(ctx);
    track(ctx, state, outcome);
    reschedule(state, outcome, startedAt);
    if (outcome.ok && outcome.notices.length > 0) {
      // Bounded by the IMDS request timeout, and only while the leader answers normally.
      if (leaderPoll) await leaderPoll;
      for (const notice of outcome.notices) {
        if (!ctx.dispatched.has(noticeKey(notice))) dispatch(ctx, notice);
      }
    }
    return outcome;
  }).finally(() => {
    if (state.inFlight === running) state.inFlight = undefined;
  });
  state.inFlight = running;
  return running;
}

/**
 * Count a round once every poll it started has settled; log an empty one at debug.
 *
 * @example
 * ```ts
 * declare const ctx: Polling, states: SourceState[];
 * await finishRound(ctx, states.map((s) => launch(ctx, s, 0)));
 * ```
 */
export function finishRound(
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
