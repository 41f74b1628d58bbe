/**
 * Benchmark 1, detection latency: from the mock IMDS starting to serve a spot notice to the
 * node's cordon PATCH and the first eviction request at the API, with `POLL_INTERVAL=1`. Cold
 * runs meet the notice with the Kubernetes client not yet imported (the normal case: it is
 * loaded lazily on the first notice); warm runs first handle a rebalance recommendation, which
 * loads it, so cold minus warm is the price of the lazy import.
 *
 * @module
 */

import { BENCH_NODE, type HandlerRun, runHandlerOnce } from "./handler_run.ts";
import { mixedPods } from "./pods.ts";
import { span } from "./timeline.ts";

/** The durations (ms) of one detection run. */
export interface DetectionSample {
  /** Notice served → first poll that got it: waiting for the next poll, 0..POLL_INTERVAL. */
  servedToSeen: number;
  /** That poll → cordon PATCH at the API: the handler's own reaction time. */
  seenToCordon: number;
  servedToCordon: number;
  servedToFirstEviction: number;
  /** `notice received` log line → cordon PATCH. */
  loggedToCordon: number;
}

/** Both kinds of run. */
export interface DetectionResult {
  cold: DetectionSample[];
  warm: DetectionSample[];
  /** Pods on the node (small: this measures reaction, not drain speed). */
  pods: number;
}

/** Options of {@linkcode runDetectionBench}. */
export interface DetectionOptions {
  runs: number;
  /** Extra handler environment, e.g. `DENO_V8_FLAGS`. */
  env?: Record<string, string>;
  onRun?: (label: string, sample: DetectionSample) => void;
}

const PODS = 30;

/**
 * Reduce a handler run to detection durations; throws when the run never cordoned or evicted.
 *
 * @example
 * ```ts
 * const sample = detectionSample(await runHandlerOnce(options));
 * ```
 */
export function detectionSample(run: HandlerRun): DetectionSample {
  const { served, seen, logged } = run.times;
  const need = (value: number | undefined, what: string) => {
    if (value === undefined) throw new Error(`detection run: no ${what} reached the API`);
    return value;
  };
  const cordon = need(run.api.cordon, "cordon PATCH");
  const firstEviction = need(run.api.firstEviction, "eviction");
  return {
    servedToSeen: seen - served,
    seenToCordon: cordon - seen,
    servedToCordon: cordon - served,
    servedToFirstEviction: firstEviction - served,
    loggedToCordon: span(logged, cordon)!,
  };
}

/**
 * The delay before the notice appears in run `i` of `runs`: spread evenly over one poll interval
 * so the runs sample every phase of the poll loop instead of a random few.
 *
 * @example
 * ```ts
 * noticeDelay(0, 4); // 325
 * noticeDelay(3, 4); // 1075
 * ```
 */
export function noticeDelay(i: number, runs: number): number {
  return 200 + Math.round(1000 * (i + 0.5) / runs);
}

/**
 * Run cold and warm detection runs, alternating so drift on a shared machine hits both alike.
 *
 * @example
 * ```ts
 * const result = await runDetectionBench({ runs: 5 });
 * ```
 */
export async function runDetectionBench(options: DetectionOptions): Promise<DetectionResult> {
  const { pods } = mixedPods(BENCH_NODE, PODS);
  const result: DetectionResult = { cold: [], warm: [], pods: PODS };
  for (let i = 0; i < options.runs; i++) {
    for (const warm of [false, true]) {
      const run = await runHandlerOnce({
        pods,
        latencyMs: 0,
        deleteAfterMs: 0,
        warm,
        noticeAfterMs: noticeDelay(i, options.runs),
        env: options.env,
      });
      const sample = detectionSample(run);
      (warm ? result.warm : result.cold).push(sample);
      options.onRun?.(warm ? "warm" : "cold", sample);
    }
  }
  return result;
}
