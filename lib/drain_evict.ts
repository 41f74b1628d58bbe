/**
 * Evicting one pod of a drain: the grace period it gets, a request in a free slot of the
 * concurrency limit, and retries of refusals (a PodDisruptionBudget's 429, 5xx, network errors)
 * with backoff until the deadline.
 *
 * @module
 */

import { pause } from "./_async.ts";
import type { Kube, PodInfo } from "./kube.ts";
import { backoff, type Draining, type DrainOptions, podName } from "./drain_context.ts";

const DEFAULT_GRACE_SECONDS = 30;

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
export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

/** A counting semaphore: at most `limit` calls of `run` in flight. */
export function createLimiter(limit: number): Limit {
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
export type EvictionEnd =
  | { kind: "accepted"; pod: PodInfo }
  | { kind: "gone"; pod: PodInfo }
  | { kind: "failed"; pod: PodInfo; reason: string }
  | { kind: "remaining"; pod: PodInfo; reason: string; metric: string; error?: string };

/** The adapter prefixes messages with `evict pod ns/name: `; a per-pod list does not need it. */
function stripPodPrefix(message: string, pod: string): string {
  const prefix = `evict pod ${pod}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

type EvictOutcome = Awaited<ReturnType<Kube["evictPod"]>>;
/** The last refusal of a pod's eviction, kept for the report at the deadline. */
type Refusal = { code: number; message: string; blocked: boolean };

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
export async function evictOne(
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
