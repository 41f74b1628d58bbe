/**
 * The in-process IMDS polling workload shared by bench/poll_cost.ts (requests, heap bytes) and
 * bench/poll_round_bench.ts (CPU time): the IMDS client and the monitor against a fetch that
 * answers like an idle IMDS, at once, so what is measured is our own work (URLs, headers,
 * signals, timers, parsing), not the network.
 *
 * @module
 */

import { createImds } from "../lib/imds.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { createMonitor } from "../lib/monitor.ts";

const ENDPOINT = "http://127.0.0.1:1";
const TOKEN = "AQAEAFl0cmFuc3BvcnQtc3RhbmQtaW4tdG9rZW4tZm9yLXRoZS1iZW5jaC0xMjM0NTY3OA==";
// IMDS declares the length of every answer.
const NOT_FOUND_HEADERS = { "content-type": "text/plain", "content-length": "10" };

/**
 * A fetch that answers like an idle IMDS: a token for the PUT, 404 for every GET; `onGet` counts.
 *
 * @example
 * ```ts
 * import { idleImdsFetch } from "./idle_imds.ts";
 * const fetchFn = idleImdsFetch(() => {});
 * ```
 */
export function idleImdsFetch(onGet: () => void = () => {}): typeof fetch {
  return (_input, init) => {
    if (init?.method === "PUT") return Promise.resolve(new Response(TOKEN));
    onGet();
    return Promise.resolve(
      new Response("Not Found\n", { status: 404, headers: NOT_FOUND_HEADERS }),
    );
  };
}

/**
 * A monitor over that fetch, for `pollOnce` rounds.
 *
 * @example
 * ```ts
 * import { idleMonitor } from "./idle_imds.ts";
 * await idleMonitor().pollOnce();
 * ```
 */
export function idleMonitor(fetchFn: typeof fetch = idleImdsFetch()) {
  return createMonitor(createImds({ endpoint: ENDPOINT, fetch: fetchFn }), {
    pollIntervalMs: 1000,
    logger: createMemoryLogger("info"),
    metrics: createMetrics(),
    onNotice: () => {},
  });
}

/**
 * One simulated minute of `run()` at a 1 s interval on a fake clock.
 *
 * @example
 * ```ts
 * import { simulatedMinute } from "./idle_imds.ts";
 * await simulatedMinute();
 * ```
 */
export async function simulatedMinute(fetchFn: typeof fetch = idleImdsFetch()): Promise<void> {
  let clock = Date.parse("2026-11-25T10:00:00Z");
  const controller = new AbortController();
  let wakeups = 0;
  const monitor = createMonitor(
    createImds({ endpoint: ENDPOINT, fetch: fetchFn, now: () => new Date(clock) }),
    {
      pollIntervalMs: 1000,
      logger: createMemoryLogger("info"),
      metrics: createMetrics(),
      onNotice: () => {},
      now: () => new Date(clock),
      sleep: async (ms) => {
        // Enough promise turns for every poll in flight to settle (the fake fetch answers at
        // once; the GET count of bench/poll_cost.ts shows none is skipped), without the cost of
        // a real timer.
        for (let i = 0; i < 64; i++) await null;
        clock += ms;
        if (++wakeups >= 60) controller.abort();
      },
    },
  );
  await monitor.run(controller.signal);
}
