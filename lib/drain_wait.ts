/**
 * The end of a drain: each eviction's outcome into the result, then a wait, one list per round,
 * until the accepted pods have left the node or the deadline has come.
 *
 * @module
 */

import { pause } from "./_async.ts";
import type { PodInfo } from "./kube.ts";
import type { DrainResult } from "./report.ts";
import { count, type Draining, type DrainOptions, podName } from "./drain_context.ts";
import type { EvictionEnd } from "./drain_evict.ts";

/** Put each eviction's end in the result; returns the accepted pods, still to leave the node. */
export function recordEnds(
  ctx: Draining,
  ends: EvictionEnd[],
  result: DrainResult,
): Map<string, PodInfo> {
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
export async function waitUntilGone(
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
