/**
 * What every step of a drain shares (lib/drain.ts wires them): the options of one drain, the
 * Kubernetes adapter, log, clock and settings, and the backoff and counting they all use.
 *
 * @module
 */

import type { Clock, Sleep } from "./_async.ts";
import type { Kube, PodRef } from "./kube.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** Options of one `Drainer.drain` call (lib/drain.ts). */
export interface DrainOptions {
  /** When the drain must be over; pods still there are reported as remaining. */
  deadline: Date;
  /** Operator's grace period (`GRACE_PERIOD`); still capped by the deadline. */
  gracePeriodSeconds?: number;
  /** The handler's own pod, never evicted. */
  ownPod?: PodRef;
  /** Aborting stops retries and the wait; requests in flight finish. */
  signal?: AbortSignal;
}

/** First retry delay after a 429 or a server error; doubles per attempt up to the cap. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 5_000;

/** `namespace/name`, as pods are named in logs and results. */
export function podName(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/** What every step of a drain shares: the API, the log, the clock, the settings. */
export interface Draining {
  kube: Kube;
  logger: Logger;
  metrics?: Metrics;
  now: Clock;
  sleep: Sleep;
  random: () => number;
  pollIntervalMs: number;
  concurrency: number;
}

/** Count one eviction outcome in `sth_evictions_total`. */
export function count(ctx: Draining, outcome: string): void {
  ctx.metrics?.inc("sth_evictions_total", { outcome });
}

/** The pause before retry `attempt` (from 0), with jitter. */
export function backoff(ctx: Draining, attempt: number): number {
  const full = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  // Half fixed, half random, so many blocked pods do not retry in lockstep.
  return full / 2 + (full / 2) * ctx.random();
}
