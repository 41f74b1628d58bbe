/**
 * One spot interruption handled by the real `main.ts` (a subprocess with the shipped
 * permissions, default `POLL_INTERVAL=1`) against the local stack, with every instant the
 * benchmarks need: when the mock IMDS started serving the notice, when a poll first saw it, when
 * the handler logged it, and what reached the Kubernetes API when.
 *
 * @module
 */

import type { MockRequest } from "../tools/mock_imds.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { startStack } from "../tools/stack.ts";
import { HANDLER_POD, type NodePod } from "./pods.ts";
import { findPid, type MemoryStatus, sampleProcess } from "./procfs.ts";
import { type ApiTimeline, apiTimeline, logTime } from "./timeline.ts";

/** The node every benchmark handler runs on. */
export const BENCH_NODE = "ip-10-0-1-23.ec2.internal";

/** Options of {@linkcode runHandlerOnce}. */
export interface HandlerRunOptions {
  pods: NodePod[];
  /** Added by the API stand-in to every answer. */
  latencyMs: number;
  /** How long an evicted pod stays terminating in the stand-in. */
  deleteAfterMs: number;
  /**
   * Handle a rebalance recommendation first (notify only, which still loads the Kubernetes
   * client and annotates the node), so the spot notice finds the client already imported.
   */
  warm?: boolean;
  /** Delay between the handler's first poll and the notice appearing; spreads the poll phase. */
  noticeAfterMs: number;
  /** Extra environment for the handler, e.g. `DENO_V8_FLAGS`. */
  env?: Record<string, string>;
  /** Bound on the whole run; default 120 s. */
  timeoutMs?: number;
}

/** Instants (epoch ms) of one handled notice. */
export interface HandlerRunTimes {
  /** The mock IMDS began answering `spot/instance-action` with the notice. */
  served: number;
  /** The first poll of `spot/instance-action` answered with the notice arrived. */
  seen: number;
  /** The handler logged `notice received`. */
  logged: number;
  /** The handler logged `drain finished` (it saw every evicted pod gone). */
  drainDone?: number;
  /** The handler logged `notice handled`. */
  handled: number;
}

/** What one run measured. */
export interface HandlerRun {
  times: HandlerRunTimes;
  api: ApiTimeline;
  /** The handler's memory right after the notice was handled (its `hwm` is the run's peak). */
  memory: MemoryStatus;
}

/**
 * Start a stack and a handler, serve one spot notice, wait until it is handled, and collect the
 * timeline. Everything started is stopped before returning, also on failure.
 *
 * @example
 * ```ts
 * const run = await runHandlerOnce({ pods, latencyMs: 5, deleteAfterMs: 500, noticeAfterMs: 700 });
 * console.log(run.api.cordon! - run.times.served);
 * ```
 */
export async function runHandlerOnce(options: HandlerRunOptions): Promise<HandlerRun> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const polls: Array<{ request: MockRequest; at: number }> = [];
  const firstPoll = Promise.withResolvers<void>();
  // The mock reads its clock once when a scenario is set; remembering that reading gives the
  // exact instant the notice starts being served (set time + afterMs).
  let lastClock = 0;
  const stack = await startStack({
    node: BENCH_NODE,
    group: null,
    api: { pods: options.pods, latencyMs: options.latencyMs, deleteAfterMs: options.deleteAfterMs },
    imds: {
      now: () => (lastClock = Date.now()),
      onRequest: (request) => {
        if (!request.path.endsWith("/spot/instance-action")) return;
        polls.push({ request, at: Date.now() });
        firstPoll.resolve();
      },
    },
  });
  const handler = spawnHandler({
    kubeconfig: stack.kubeconfig,
    env: {
      ...stack.env,
      POLL_INTERVAL: "1",
      POD_NAME: HANDLER_POD.name,
      NAMESPACE: HANDLER_POD.namespace,
      ...options.env,
    },
  });
  try {
    await bounded(firstPoll.promise, timeoutMs, "the handler's first IMDS poll", handler.lines);
    const pid = await findPid(stack.kubeconfig);
    let since = -Infinity;
    if (options.warm) {
      stack.imds.setScenario({ rebalance: { afterMs: 0 } });
      await handler.waitForLine(/notice handled .*kind=rebalance-recommendation/, timeoutMs);
      since = Date.now();
    }
    stack.imds.setScenario({ spot: { action: "terminate", afterMs: options.noticeAfterMs } });
    const served = lastClock + options.noticeAfterMs;
    await handler.waitForLine(/notice handled .*kind=spot-interruption/, timeoutMs);
    const memory = await sampleProcess(pid);
    const seen = polls.find((p) => p.request.status === 200)?.at;
    const spot = handler.lines.filter((l) => !/kind=rebalance-recommendation/.test(l));
    const logged = logTime(spot, /^notice received .*kind=spot-interruption/);
    const handled = logTime(spot, /^notice handled /);
    if (seen === undefined || logged === undefined || handled === undefined) {
      throw new Error(`incomplete run: seen=${seen} logged=${logged} handled=${handled}`);
    }
    return {
      times: {
        served,
        seen,
        logged,
        drainDone: logTime(spot, /^drain finished /),
        handled,
      },
      api: apiTimeline(stack.api.requests, { latencyMs: options.latencyMs, since }),
      memory,
    };
  } finally {
    await handler.stop();
    await stack.close();
  }
}

/** Resolve with `promise`, or reject after `ms` naming what did not happen. */
async function bounded<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  lines: readonly string[],
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no ${what} within ${ms} ms:\n${lines.join("\n")}`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
