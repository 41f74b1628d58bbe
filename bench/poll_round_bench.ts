/**
 * Time spent polling IMDS, in-process (`deno bench --allow-net bench/poll_round_bench.ts`): the
 * IMDS client and the monitor against a fetch that answers at once, so what is measured is our
 * own work (URLs, headers, signals, timers, parsing), not the network. Two figures: one round of
 * every notice source (`pollOnce`, five GETs), and one simulated minute of `run()` at the
 * default `POLL_INTERVAL` of 1 s on a fake clock, where the sources' schedules decide how many
 * requests the minute holds. bench/poll_cost.ts counts the requests and the bytes allocated.
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

/** A fetch that answers like an idle IMDS: a token for the PUT, 404 for every GET. */
const idleImdsFetch: typeof fetch = (_input, init) =>
  Promise.resolve(
    init?.method === "PUT"
      ? new Response(TOKEN, { status: 200 })
      : new Response("Not Found\n", { status: 404, headers: NOT_FOUND_HEADERS }),
  );

const roundMonitor = createMonitor(
  createImds({ endpoint: ENDPOINT, fetch: idleImdsFetch }),
  {
    pollIntervalMs: 1000,
    logger: createMemoryLogger("info"),
    metrics: createMetrics(),
    onNotice: () => {},
  },
);

Deno.bench("one round of all five notice paths (pollOnce)", async () => {
  await roundMonitor.pollOnce();
});

Deno.bench("one simulated minute of run() at POLL_INTERVAL=1s", async () => {
  let clock = Date.parse("2026-11-25T10:00:00Z");
  const controller = new AbortController();
  let wakeups = 0;
  const monitor = createMonitor(
    createImds({ endpoint: ENDPOINT, fetch: idleImdsFetch, now: () => new Date(clock) }),
    {
      pollIntervalMs: 1000,
      logger: createMemoryLogger("info"),
      metrics: createMetrics(),
      onNotice: () => {},
      now: () => new Date(clock),
      sleep: async (ms) => {
        // Enough promise turns for every poll in flight to settle (the fake fetch answers at
        // once; bench/poll_cost.ts shows none is skipped), without the cost of a real timer.
        for (let i = 0; i < 64; i++) await null;
        clock += ms;
        if (++wakeups >= 60) controller.abort();
      },
    },
  );
  await monitor.run(controller.signal);
});
