/**
 * The IMDS poll loop: each notice source of the table (`lib/sources.ts`) is asked on its own
 * schedule (spot every poll interval, the slow sources less often), what it says is parsed by the
 * source into typed {@linkcode Notice}s with stable ids, and each id goes to the handler once. IMDS trouble (timeouts, refusals, 5xx, redirects,
 * oversized or garbage answers, implausible times) is logged and counted per source, backs off
 * only that source, and never ends the loop.
 *
 * @module
 */

import { type Clock, type Sleep, sleep as realSleep } from "./_async.ts";
import type { Imds } from "./imds.ts";
import type { Logger } from "./log.ts";
import type { FinishedEvent } from "./maintenance.ts";
import type { Metrics } from "./metrics.ts";
import { createSources, finishRound, launch, type Outcome, type Polling } from "./monitor_poll.ts";
import { type Notice, noticeKey } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";
import { NOTICE_SOURCES } from "./sources.ts";

/** Options of {@linkcode createMonitor}. */
export interface MonitorOptions {
  /**
   * Pause between wake-ups, and spot's poll interval; the slow sources are asked every
   * `everyMs` of their {@linkcode NoticeSource} (or this, when longer).
   */
  pollIntervalMs: number;
  /** Called once per notice (id, and revision when a source gives one); not awaited by the poll loop (errors it throws or rejects are logged). */
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
  /** The notice sources, by name, in poll order. Default: {@linkcode NOTICE_SOURCES}. */
  sources?: Readonly<Record<string, NoticeSource>>;
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
   * `onNotice`, and return every notice IMDS reported in this round (deduplicated by
   * {@linkcode noticeKey}),
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

/**
 * Create the poll loop over an IMDS client. Each source runs on its own schedule (its
 * {@linkcode NoticeSource}'s `everyMs`) with its own backoff, so a failing or hanging path never
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
    onFinishedEvents: options.onFinishedEvents,
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
  const sources = createSources(
    options.sources ?? NOTICE_SOURCES,
    interval,
    options.noticeUrl,
  );

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
        for (const n of outcome.notices) {
          const key = noticeKey(n);
          if (!found.has(key)) found.set(key, n);
        }
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
