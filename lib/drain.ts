/**
 * Deadline-aware node drain: `kubectl drain --force --ignore-daemonsets --delete-emptydir-data`,
 * except that everything is bounded by the notice's deadline. Evictions run concurrently
 * (bounded, but without kubectl's self-throttling), grace periods are capped so pods finish
 * before the instance goes away, PodDisruptionBudget refusals and server errors are retried until
 * the deadline, and whatever is still on the node then is reported rather than waited for.
 *
 * @module
 */

import { type Clock, retryUntil, type Sleep, sleep as realSleep } from "./_async.ts";
import type { Kube, PodInfo, PodRef } from "./kube.ts";
import { isPermanentKubeError } from "./kube_errors.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { DrainResult, PodOutcome } from "./report.ts";
import { backoff, type Draining, type DrainOptions, podName } from "./drain_context.ts";
import { createLimiter, evictOne } from "./drain_evict.ts";
import { recordEnds, waitUntilGone } from "./drain_wait.ts";

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

const DEFAULT_CONCURRENCY = 25;

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
