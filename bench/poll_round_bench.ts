/**
 * CPU cost of polling IMDS, in-process (`deno bench bench/poll_round_bench.ts`): the IMDS client
 * and the monitor against a fetch that answers at once, so what is measured is our own work per
 * request (URLs, headers, signals, timers, parsing), not the network. Two figures:
 *
 * - one round of every notice source (`pollOnce`, five GETs);
 * - one simulated minute of `run()` at the default `POLL_INTERVAL` of 1 s, on a fake clock: the
 *   sources' schedules decide how many requests that minute holds.
 *
 * @module
 */

import { createImds } from "../lib/imds.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { createMonitor } from "../lib/monitor.ts";

const ENDPOINT = "http://127.0.0.1:1";
const TOKEN = "AQAEAFl0cmFuc3BvcnQtc3RhbmQtaW4tdG9rZW4tZm9yLXRoZS1iZW5jaC0xMjM0NTY3OA==";

/** A fetch that answers like an idle IMDS: a token for the PUT, 404 for every GET. */
function idleImdsFetch(counter: { gets: number }): typeof fetch {
  return (_input, init) => {
    if (init?.method === "PUT") return Promise.resolve(new Response(TOKEN, { status: 200 }));
    counter.gets++;
    return Promise.resolve(new Response("Not Found\n", { status: 404 }));
  };
}

/** A macrotask turn without timer clamping: every microtask (the polls in flight) runs first. */
function turn(channel: MessageChannel): Promise<void> {
  return new Promise((resolve) => {
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(0);
  });
}

const roundCounter = { gets: 0 };
const roundMonitor = createMonitor(
  createImds({ endpoint: ENDPOINT, fetch: idleImdsFetch(roundCounter) }),
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

Deno.bench("one simulated minute of run() at POLL_INTERVAL=1s", async (b) => {
  const counter = { gets: 0 };
  let clock = Date.parse("2026-11-25T10:00:00Z");
  const channel = new MessageChannel();
  const controller = new AbortController();
  let ticks = 0;
  const monitor = createMonitor(
    createImds({ endpoint: ENDPOINT, fetch: idleImdsFetch(counter), now: () => clock }),
    {
      pollIntervalMs: 1000,
      logger: createMemoryLogger("info"),
      metrics: createMetrics(),
      onNotice: () => {},
      now: () => new Date(clock),
      sleep: async (ms) => {
        await turn(channel);
        clock += ms;
        if (++ticks >= 60) controller.abort();
      },
    },
  );
  b.start();
  await monitor.run(controller.signal);
  b.end();
  channel.port1.close();
  channel.port2.close();
  perMinuteGets = counter.gets;
});

let perMinuteGets = 0;
globalThis.addEventListener("unload", () => {
  console.log(`GET requests in one simulated minute: ${perMinuteGets}`);
});
