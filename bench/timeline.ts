/**
 * Turns what the stand-ins recorded (the Kubernetes API's request log, the handler's log lines)
 * into the instants the benchmarks report: cordon, first eviction, every pod's first eviction
 * request, last accepted eviction. Pure functions, so the arithmetic is unit-tested.
 *
 * @module
 */

import type { ApiRequestRecord } from "../tools/fake_apiserver_store.ts";

/** Instants (epoch ms, at the API) of one drain, and how many requests it took. */
export interface ApiTimeline {
  /** The PATCH that set `spec.unschedulable: true`. */
  cordon?: number;
  /** The first eviction request, whatever its answer. */
  firstEviction?: number;
  /** When the last pod received its first eviction request: every eviction issued. */
  allIssued?: number;
  /** The last eviction the API accepted (201), PodDisruptionBudget retries included. */
  lastAccepted?: number;
  /** Eviction requests, 429 retries included. */
  evictionRequests: number;
  /** Accepted evictions. */
  accepted: number;
  /** Every request, discovery included. */
  requests: number;
}

function isCordon(record: ApiRequestRecord): boolean {
  if (record.verb !== "patch" || record.resource !== "nodes" || !record.body) return false;
  try {
    return JSON.parse(record.body)?.spec?.unschedulable === true;
  } catch {
    return false;
  }
}

/**
 * Analyse the stand-in's request log. The stand-in stamps `at` when it answers, after its
 * simulated latency; `latencyMs` is subtracted so instants are request arrivals. Only records
 * answered at or after `since` count (e.g. after a warm-up notice).
 *
 * @example
 * ```ts
 * const t = apiTimeline(api.requests, { latencyMs: 5 });
 * console.log(t.allIssued! - t.cordon!);
 * ```
 */
export function apiTimeline(
  requests: readonly ApiRequestRecord[],
  options: { latencyMs?: number; since?: number } = {},
): ApiTimeline {
  const latency = options.latencyMs ?? 0;
  const since = options.since ?? -Infinity;
  const timeline: ApiTimeline = { evictionRequests: 0, accepted: 0, requests: 0 };
  const firstPerPod = new Map<string, number>();
  for (const r of requests) {
    if (r.at < since) continue;
    const arrived = r.at - latency;
    timeline.requests++;
    if (timeline.cordon === undefined && isCordon(r)) timeline.cordon = arrived;
    if (r.subresource !== "eviction" || r.verb !== "create") continue;
    timeline.evictionRequests++;
    timeline.firstEviction = Math.min(timeline.firstEviction ?? Infinity, arrived);
    const pod = `${r.namespace}/${r.name}`;
    firstPerPod.set(pod, Math.min(firstPerPod.get(pod) ?? Infinity, arrived));
    if (r.status === 201) {
      timeline.accepted++;
      timeline.lastAccepted = Math.max(timeline.lastAccepted ?? -Infinity, arrived);
    }
  }
  if (firstPerPod.size > 0) timeline.allIssued = Math.max(...firstPerPod.values());
  return timeline;
}

const LOG_LINE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) +[A-Z]+ +(.*)$/;

/**
 * The time (epoch ms) of the first handler log line whose message matches `pattern`, or
 * undefined. Reads the text format: `2026-11-25T10:00:00.000Z INFO  message key=value`.
 *
 * @example
 * ```ts
 * logTime(handler.lines, /^notice received .*kind=spot-interruption/);
 * ```
 */
export function logTime(lines: readonly string[], pattern: RegExp): number | undefined {
  for (const line of lines) {
    const m = LOG_LINE.exec(line);
    if (m && pattern.test(m[2])) return Date.parse(m[1]);
  }
  return undefined;
}

/**
 * `later - earlier`, or undefined when either instant is missing.
 *
 * @example
 * ```ts
 * span(1_000, 1_250); // 250
 * span(1_000, undefined); // undefined
 * ```
 */
export function span(earlier: number | undefined, later: number | undefined): number | undefined {
  return earlier === undefined || later === undefined ? undefined : later - earlier;
}
