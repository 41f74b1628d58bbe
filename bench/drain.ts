/**
 * Benchmark 2, drain speed: the handler against `kubectl drain --force --ignore-daemonsets
 * --delete-emptydir-data` on the same node (30, 110 and 250 pods, mixed) behind the same
 * simulated API latency (5 ms and 50 ms). Evicted pods take {@linkcode DELETE_AFTER_MS} to
 * disappear, so "done" includes noticing they are gone.
 *
 * @module
 */

import { BENCH_NODE, type HandlerRun, runHandlerOnce } from "./handler_run.ts";
import { type KubectlRun, runKubectlDrain } from "./kubectl_run.ts";
import { mixedPods, type NodePod } from "./pods.ts";
import { span } from "./timeline.ts";

/** Pods on the node in each case. */
export const DRAIN_SIZES: readonly number[] = [30, 110, 250];
/** API latencies (ms) in each case. */
export const DRAIN_LATENCIES: readonly number[] = [5, 50];
/** How long an evicted pod stays terminating in the stand-in. */
export const DELETE_AFTER_MS = 500;

/** One handler drain, durations (ms) from the handler's `notice received` log line. */
export interface OurDrainSample {
  allIssued: number;
  lastAccepted: number;
  /** `drain finished`: every evicted pod seen gone. */
  done: number;
  /** Notice served by IMDS → `notice received` (poll wait), for reference. */
  servedToLogged: number;
  requests: number;
  evictionRequests: number;
  /** The process's peak resident set (VmHWM), bytes. */
  peakRss: number;
}

/** One kubectl drain, durations (ms) from starting kubectl. */
export interface KubectlDrainSample {
  allIssued: number;
  lastAccepted: number;
  /** kubectl exited (it waits until every evicted pod is gone). */
  exit: number;
  requests: number;
  evictionRequests: number;
}

/** One size × latency case and its samples. */
export interface DrainCase {
  pods: number;
  latencyMs: number;
  evictable: number;
  guarded: number;
  ours: OurDrainSample[];
  kubectl: KubectlDrainSample[];
}

/**
 * Every size × latency case, samples empty.
 *
 * @example
 * ```ts
 * drainCases([30], [5, 50]).length; // 2
 * ```
 */
export function drainCases(
  sizes: readonly number[] = DRAIN_SIZES,
  latencies: readonly number[] = DRAIN_LATENCIES,
): DrainCase[] {
  return latencies.flatMap((latencyMs) =>
    sizes.map((pods) => {
      const load = mixedPods(BENCH_NODE, pods);
      return {
        pods,
        latencyMs,
        evictable: load.evictable,
        guarded: load.guarded,
        ours: [],
        kubectl: [],
      };
    })
  );
}

function need(value: number | undefined, what: string): number {
  if (value === undefined) throw new Error(`drain run: ${what} missing`);
  return value;
}

/**
 * Reduce a handler run to drain durations; throws when it did not evict every pod.
 *
 * @example
 * ```ts
 * const sample = ourDrainSample(run, 104);
 * ```
 */
export function ourDrainSample(run: HandlerRun, evictable: number): OurDrainSample {
  if (run.api.accepted !== evictable) {
    throw new Error(`drain run: ${run.api.accepted} of ${evictable} evictions accepted`);
  }
  const { logged, served, drainDone } = run.times;
  return {
    allIssued: need(span(logged, run.api.allIssued), "every eviction issued"),
    lastAccepted: need(span(logged, run.api.lastAccepted), "last eviction accepted"),
    done: need(span(logged, drainDone), "drain finished log line"),
    servedToLogged: logged - served,
    requests: run.api.requests,
    evictionRequests: run.api.evictionRequests,
    peakRss: run.memory.hwm,
  };
}

/**
 * Reduce a kubectl run to drain durations; throws when kubectl failed or left pods.
 *
 * @example
 * ```ts
 * const sample = kubectlDrainSample(run, 104);
 * ```
 */
export function kubectlDrainSample(run: KubectlRun, evictable: number): KubectlDrainSample {
  if (run.code !== 0) throw new Error(`kubectl drain exited ${run.code}:\n${run.stderrTail}`);
  if (run.api.accepted !== evictable) {
    throw new Error(`kubectl drain: ${run.api.accepted} of ${evictable} evictions accepted`);
  }
  return {
    allIssued: need(span(run.started, run.api.allIssued), "every eviction issued"),
    lastAccepted: need(span(run.started, run.api.lastAccepted), "last eviction accepted"),
    exit: run.exited - run.started,
    requests: run.api.requests,
    evictionRequests: run.api.evictionRequests,
  };
}

function podsFor(c: DrainCase): NodePod[] {
  return mixedPods(BENCH_NODE, c.pods).pods;
}

/**
 * Run the handler `runs` times per case, one run at a time, filling `ours`.
 *
 * @example
 * ```ts
 * const cases = drainCases();
 * await runOurDrains(cases, { runs: 5 });
 * ```
 */
export async function runOurDrains(
  cases: DrainCase[],
  options: {
    runs: number;
    env?: Record<string, string>;
    onRun?: (c: DrainCase, s: OurDrainSample) => void;
  },
): Promise<void> {
  for (let i = 0; i < options.runs; i++) {
    for (const c of cases) {
      const run = await runHandlerOnce({
        pods: podsFor(c),
        latencyMs: c.latencyMs,
        deleteAfterMs: DELETE_AFTER_MS,
        noticeAfterMs: 300,
        env: options.env,
      });
      const sample = ourDrainSample(run, c.evictable);
      c.ours.push(sample);
      options.onRun?.(c, sample);
    }
  }
}

/**
 * Run kubectl `runs` times per case, up to `concurrency` drains at once (each against its own
 * stand-in), longest cases first, filling `kubectl`. kubectl paces itself with client-side
 * throttling (about 10 requests a second) and uses little CPU, so parallel drains do not slow
 * one another down on a 2-core machine; the ranges in the results show it.
 *
 * @example
 * ```ts
 * await runKubectlDrains(cases, { runs: 3, concurrency: 4 });
 * ```
 */
export async function runKubectlDrains(
  cases: DrainCase[],
  options: {
    runs: number;
    concurrency: number;
    onRun?: (c: DrainCase, s: KubectlDrainSample) => void;
  },
): Promise<void> {
  const jobs: DrainCase[] = [];
  for (let i = 0; i < options.runs; i++) jobs.push(...cases);
  jobs.sort((a, b) => b.pods - a.pods);
  const worker = async () => {
    for (let c = jobs.shift(); c; c = jobs.shift()) {
      try {
        const run = await runKubectlDrain({
          pods: podsFor(c),
          latencyMs: c.latencyMs,
          deleteAfterMs: DELETE_AFTER_MS,
        });
        const sample = kubectlDrainSample(run, c.evictable);
        c.kubectl.push(sample);
        options.onRun?.(c, sample);
      } catch (error) {
        jobs.length = 0; // The other workers finish their current drain and stop.
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
}
