// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * Deadline-aware node drain: `kubectl drain --force --ignore-daemonsets --delete-emptydir-data`,
 * except that everything is bounded by the notice's deadline. Evictions run concurrently
 * (bounded, but without kubectl's self-throttling), grace periods are capped so pods finish
 * before the instance goes away, PodDisruptionBudget refusals and server errors are retried until
 * the deadline, and whatever is still on the node then is reported rather than waited for.
 *
 * @module
 */

import { type Clock, pause, retryUntil, type Sleep, sleep as realSleep } from "./_async.ts";
import type { Kube, PodInfo, PodRef } from "./kube.ts";
import { isPermanentKubeError } from "./kube_errors.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { DrainResult, PodOutcome } from "./report.ts";

/** Options of one {@linkcode Drainer.drain} call. */
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

/** Drains one node. */
export interface Drainer {
  /**
   * Evict the node's pods and wait for them until the deadline. Per-pod problems end up in the
   * result; only a failure to list the node's pods at all (after retrying 5xx and network
   * errors until the deadline) is thrown, as the adapter's `KubeError`.
   */
  drain(node: string, options: DrainOptions): Promise<DrainResult>;
}

/** Options of {@linkcode createDrainer}. */
export interface DrainerOptions {
  logger: Logger;
  metrics?: Metrics;
  now?: Clock;
  /** Resolves after `ms`, or early when `signal` aborts (a rejection on abort is tolerated). */
  sleep?: Sleep;
  /** Most API requests in flight at once; default 25. */
  concurrency?: number;
  /** Pause between the list calls that check whether evicted pods are gone; default 1000 ms. */
  pollIntervalMs?: number;
  /** Source of jitter in [0, 1); default `Math.random`. */
  random?: () => number;
}

/** First retry delay after a 429 or a server error; doubles per attempt up to the cap. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 5_000;
const DEFAULT_GRACE_SECONDS = 30;
const DEFAULT_CONCURRENCY = 25;

function podName(pod: { namespace: string; name: string }): string {
  return `${pod.namespace}/${pod.name}`;
}

/**
 * Split the pods on a node into those to evict and those left alone: the handler's own pod,
 * mirror (static) pods, DaemonSet pods and finished pods. Unmanaged pods and pods with emptyDir
 * are evicted (`--force`, `--delete-emptydir-data`): the instance is going away regardless.
 *
 * @example
 * ```ts
 * import type { PodInfo } from "./kube.ts";
 * declare const pods: PodInfo[];
 *
 * const { evict, skipped } = selectPods(pods, { ownPod: { namespace: "kube-system", name: "sth-x" } });
 * ```
 */
export function selectPods(
  pods: PodInfo[],
  options: { ownPod?: PodRef } = {},
): { evict: PodInfo[]; skipped: PodOutcome[] } {
  const evict: PodInfo[] = [];
  const skipped: PodOutcome[] = [];
  const own = options.ownPod;
  for (const pod of pods) {
    let reason: string | undefined;
    if (own && pod.namespace === own.namespace && pod.name === own.name) {
      reason = "the handler's own pod";
    } else if (pod.isMirror) reason = "mirror (static) pod";
    else if (pod.ownerKinds.includes("DaemonSet")) reason = "DaemonSet pod";
    else if (pod.phase === "Succeeded" || pod.phase === "Failed") {
      reason = `finished (${pod.phase})`;
    }
    if (reason) skipped.push({ pod: podName(pod), reason });
    else evict.push(pod);
  }
  return { evict, skipped };
}

/**
 * The grace period to evict `pod` with: the operator's `gracePeriodSeconds`, else the pod's own
 * `terminationGracePeriodSeconds`, else 30, capped at one second less than the whole seconds
 * left until the deadline (leaving the kubelet time to kill and report), and never below 1.
 * The floor is 1, not 0, because 0 makes the API server delete the pod object at once while its
 * containers may still run (what `kubectl delete --force` does); a pod past the deadline still
 * gets the shortest graceful termination.
 *
 * @example
 * ```ts
 * import type { PodInfo } from "./kube.ts";
 * declare const pod: PodInfo;
 *
 * const now = new Date("2026-11-25T10:00:00Z");
 * graceFor(pod, { now, deadline: new Date("2026-11-25T10:00:20Z") }); // 19 for a 30 s pod
 * ```
 */
export function graceFor(
  pod: PodInfo,
  options: { deadline: Date; now: Date; gracePeriodSeconds?: number },
): number {
  const wanted = options.gracePeriodSeconds ?? pod.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_SECONDS;
  const secondsLeft = Math.floor((options.deadline.getTime() - options.now.getTime()) / 1000);
  return Math.max(1, Math.min(Math.floor(wanted), secondsLeft - 1));
}

/** Runs a task when one of a bounded number of slots is free. */
type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/** A counting semaphore: at most `limit` calls of `run` in flight. */
function createLimiter(limit: number): Limit {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter so `active` never drops below the true count.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** What one pod's eviction loop ended with. */
type EvictionEnd =
  | { kind: "accepted"; pod: PodInfo }
  | { kind: "gone"; pod: PodInfo }
  | { kind: "failed"; pod: PodInfo; reason: string }
  | { kind: "remaining"; pod: PodInfo; reason: string; metric: string; error?: string };

/** The adapter prefixes messages with `evict pod ns/name: `; a per-pod list does not need it. */
function stripPodPrefix(message: string, pod: string): string {
  const prefix = `evict pod ${pod}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** What every step of a drain shares: the API, the log, the clock, the settings. */
interface Draining {
  kube: Kube;
  logger: Logger;
  metrics?: Metrics;
  now: Clock;
  sleep: Sleep;
  random: () => number;
  pollIntervalMs: number;
  concurrency: number;
}

type EvictOutcome = Awaited<ReturnType<Kube["evictPod"]>>;
/** The last refusal of a pod's eviction, kept for the report at the deadline. */
type Refusal = { code: number; message: string; blocked: boolean };

function count(ctx: Draining, outcome: string): void {
  ctx.metrics?.inc("sth_evictions_total", { outcome });
}

function backoff(ctx: Draining, attempt: number): number {
  const full = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  // Half fixed, half random, so many blocked pods do not retry in lockstep.
  return full / 2 + (full / 2) * ctx.random();
}

/** The first list must succeed for the drain to start; a 5xx or a network error is retried. */
function listWithRetry(ctx: Draining, node: string, drain: DrainOptions): Promise<PodInfo[]> {
  return retryUntil(() => ctx.kube.listPodsOnNode(node), {
    deadline: drain.deadline,
    now: ctx.now,
    sleep: ctx.sleep,
    signal: drain.signal,
    delayMs: (attempt) => backoff(ctx, attempt - 1),
    // 401/403/404 and configuration or TLS problems fail the same way on every try.
    retryable: (error) => !isPermanentKubeError(error),
    onError: (error, _attempt, willRetry) => {
      if (willRetry) ctx.logger.warn("cannot list pods on node, will retry", { node, error });
    },
  });
}

/** One eviction request in a free slot, with the grace period left; undefined once aborted. */
function requestEviction(
  ctx: Draining,
  pod: PodInfo,
  drain: DrainOptions,
  limit: Limit,
): Promise<EvictOutcome | undefined> {
  return limit(async () => {
    if (drain.signal?.aborted) return undefined;
    const grace = graceFor(pod, {
      deadline: drain.deadline,
      now: ctx.now(),
      gracePeriodSeconds: drain.gracePeriodSeconds,
    });
    try {
      return await ctx.kube.evictPod(pod, { gracePeriodSeconds: grace });
    } catch (error) {
      // The adapter turns HTTP errors into outcomes; anything thrown is a transport problem.
      const message = error instanceof Error ? error.message : String(error);
      return { status: "retryable" as const, code: 0, message };
    }
  });
}

/** How a pod refused until the deadline (after a 429 or a retryable error) is reported. */
function refusedUntilDeadline(pod: PodInfo, last: Refusal): EvictionEnd {
  if (last.blocked) {
    const pdb = /disruption budget/i.test(last.message);
    return {
      kind: "remaining",
      pod,
      reason: pdb
        ? "blocked by PodDisruptionBudget until deadline"
        : "eviction throttled (429) until deadline",
      metric: "blocked",
      error: last.message,
    };
  }
  return {
    kind: "remaining",
    pod,
    reason: last.code === 0
      ? "API server unreachable until deadline"
      : `eviction failed with HTTP ${last.code} until deadline`,
    metric: "timeout",
    error: last.message,
  };
}

/** Evict one pod, retrying refusals with backoff until the deadline. */
async function evictOne(
  ctx: Draining,
  pod: PodInfo,
  drain: DrainOptions,
  limit: Limit,
): Promise<EvictionEnd> {
  const { logger, now } = ctx;
  const name = podName(pod);
  const { deadline, signal } = drain;
  let last: Refusal | undefined;
  for (let attempt = 0;; attempt++) {
    if (signal?.aborted) {
      return { kind: "remaining", pod, reason: "drain aborted", metric: "aborted" };
    }
    const outcome = await requestEviction(ctx, pod, drain, limit);
    if (outcome === undefined) continue;
    switch (outcome.status) {
      case "evicted":
        // Logged now, not only once the pod is gone: a drain held up by one PodDisruptionBudget
        // can take the whole two minutes, and `kubectl logs` should show progress meanwhile.
        logger.info("eviction accepted", { pod: name });
        return { kind: "accepted", pod };
      case "gone":
        return { kind: "gone", pod };
      case "failed":
        return { kind: "failed", pod, reason: stripPodPrefix(outcome.message, name) };
      case "blocked":
      case "retryable": {
        last = {
          code: outcome.code,
          message: stripPodPrefix(outcome.message, name),
          blocked: outcome.status === "blocked",
        };
        // The first refusal is worth an operator's attention (a budget or an API problem is
        // eating the deadline); the retries after it would only flood the log.
        const refused = { pod: name, code: outcome.code, error: last.message };
        if (attempt === 0) {
          logger.warn("eviction refused, will retry until the deadline", refused);
        } else logger.debug("eviction refused, will retry", refused);
      }
    }
    const left = deadline.getTime() - now().getTime();
    if (left <= 0) break;
    await pause(ctx.sleep, Math.min(backoff(ctx, attempt), left), signal);
    if (now().getTime() >= deadline.getTime() && !signal?.aborted) break;
  }
  // Only reached at the deadline after a 429 or a retryable error.
  return refusedUntilDeadline(pod, last!);
}

/** Put each eviction's end in the result; returns the accepted pods, still to leave the node. */
function recordEnds(ctx: Draining, ends: EvictionEnd[], result: DrainResult): Map<string, PodInfo> {
  const { logger } = ctx;
  const waiting = new Map<string, PodInfo>();
  for (const end of ends) {
    const name = podName(end.pod);
    switch (end.kind) {
      case "accepted":
        waiting.set(name, end.pod);
        break;
      case "gone":
        result.evicted.push(name);
        count(ctx, "gone");
        logger.info("pod evicted", { pod: name, note: "already gone" });
        break;
      case "failed":
        result.failed.push({ pod: name, reason: end.reason });
        count(ctx, "failed");
        logger.warn("pod eviction failed", { pod: name, reason: end.reason });
        break;
      case "remaining":
        result.remaining.push({ pod: name, reason: end.reason });
        count(ctx, end.metric);
        logger.warn("pod still on node", { pod: name, reason: end.reason, error: end.error });
    }
  }
  return waiting;
}

/**
 * Wait until each accepted pod is gone or replaced (new UID), one list per round, until the
 * deadline; what is still there then is reported as remaining.
 */
async function waitUntilGone(
  ctx: Draining,
  node: string,
  waiting: Map<string, PodInfo>,
  drain: DrainOptions,
  result: DrainResult,
): Promise<void> {
  const { logger, now } = ctx;
  const { deadline, signal } = drain;
  while (waiting.size > 0 && !signal?.aborted) {
    let current: PodInfo[] | undefined;
    try {
      current = await ctx.kube.listPodsOnNode(node);
    } catch (error) {
      logger.warn("cannot check which evicted pods are gone", { node, error });
    }
    if (current) {
      const uids = new Map(current.map((p) => [podName(p), p.uid]));
      for (const [name, pod] of waiting) {
        if (uids.get(name) === pod.uid) continue;
        waiting.delete(name);
        result.evicted.push(name);
        count(ctx, "evicted");
        logger.info("pod evicted", {
          pod: name,
          ...(uids.has(name) ? { note: "replaced" } : {}),
        });
      }
    }
    const left = deadline.getTime() - now().getTime();
    if (waiting.size === 0 || left <= 0) break;
    await pause(ctx.sleep, Math.min(ctx.pollIntervalMs, left), signal);
  }
  for (const name of waiting.keys()) {
    const reason = signal?.aborted
      ? "drain aborted while terminating"
      : "still terminating at deadline";
    result.remaining.push({ pod: name, reason });
    count(ctx, signal?.aborted ? "aborted" : "timeout");
    logger.warn("pod still on node", { pod: name, reason });
  }
}

/** List, select, evict, wait, summarise: one drain of one node. */
async function drainNode(ctx: Draining, node: string, drain: DrainOptions): Promise<DrainResult> {
  const { logger, now } = ctx;
  const started = now();
  const result: DrainResult = { evicted: [], remaining: [], failed: [], skipped: [] };

  const pods = await listWithRetry(ctx, node, drain);
  const { evict, skipped } = selectPods(pods, { ownPod: drain.ownPod });
  result.skipped = skipped;
  logger.info("draining node", {
    node,
    pods: evict.length,
    skipped: skipped.length,
    deadline: drain.deadline,
  });
  for (const s of skipped) logger.info("pod skipped", { pod: s.pod, reason: s.reason });

  const limit = createLimiter(ctx.concurrency);
  const ends = await Promise.all(evict.map((pod) => evictOne(ctx, pod, drain, limit)));
  const waiting = recordEnds(ctx, ends, result);
  await waitUntilGone(ctx, node, waiting, drain, result);

  const summary = {
    node,
    evicted: result.evicted.length,
    remaining: result.remaining.length,
    failed: result.failed.length,
    skipped: result.skipped.length,
    durationMs: now().getTime() - started.getTime(),
  };
  if (result.remaining.length > 0 || result.failed.length > 0) {
    logger.warn("drain finished with pods left", summary);
  } else logger.info("drain finished", summary);
  return result;
}

/**
 * Create a drainer.
 *
 * @example
 * ```ts
 * import type { Kube, PodRef } from "./kube.ts";
 * import { createLogger } from "./log.ts";
 * import { createMetrics } from "./metrics.ts";
 * declare const kube: Kube;
 * declare const ownPod: PodRef;
 * const logger = createLogger();
 * const metrics = createMetrics();
 *
 * const drainer = createDrainer(kube, { logger, metrics });
 * const result = await drainer.drain("ip-10-0-0-1", { deadline: new Date(Date.now() + 120_000), ownPod });
 * ```
 */
export function createDrainer(kube: Kube, options: DrainerOptions): Drainer {
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(
      `createDrainer: concurrency must be a positive integer, got ${concurrency}`,
    );
  }
  if (!(pollIntervalMs > 0)) {
    throw new RangeError(`createDrainer: pollIntervalMs must be positive, got ${pollIntervalMs}`);
  }
  const ctx: Draining = {
    kube,
    logger: options.logger,
    metrics: options.metrics,
    now: options.now ?? (() => new Date()),
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    pollIntervalMs,
    concurrency,
  };
  return { drain: (node, drain) => drainNode(ctx, node, drain) };
}
