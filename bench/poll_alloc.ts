/**
 * Bytes allocated per IMDS poll round, in-process: `deno run --v8-flags=--expose-gc,--max-semi-space-size=256
 * --allow-net bench/poll_alloc.ts`. The young generation is made large enough that no collection
 * runs during the sample, so the growth of the heap is what the rounds allocated.
 *
 * @module
 */

import { createImds } from "../lib/imds.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { createMonitor } from "../lib/monitor.ts";

const TOKEN = "AQAEAFl0cmFuc3BvcnQtc3RhbmQtaW4tdG9rZW4tZm9yLXRoZS1iZW5jaC0xMjM0NTY3OA==";
const fakeFetch: typeof fetch = (_input, init) =>
  Promise.resolve(
    init?.method === "PUT" ? new Response(TOKEN) : new Response("Not Found\n", { status: 404 }),
  );
const monitor = createMonitor(createImds({ endpoint: "http://127.0.0.1:1", fetch: fakeFetch }), {
  pollIntervalMs: 1000,
  logger: createMemoryLogger("info"),
  metrics: createMetrics(),
  onNotice: () => {},
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc,--max-semi-space-size=256");

/** Median heap growth per call of `work` over five samples of `count` calls. */
async function allocated(work: () => Promise<unknown>, count: number): Promise<number[]> {
  for (let i = 0; i < count; i++) await work();
  const samples: number[] = [];
  for (let s = 0; s < 5; s++) {
    gc!();
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) await work();
    samples.push(Math.round((Deno.memoryUsage().heapUsed - before) / count));
  }
  return samples.sort((a, b) => a - b);
}

/** One simulated minute of run() at a 1 s interval on a fake clock. */
async function simulatedMinute(): Promise<void> {
  let clock = Date.parse("2026-11-25T10:00:00Z");
  const channel = new MessageChannel();
  const controller = new AbortController();
  let ticks = 0;
  const minute = createMonitor(
    createImds({ endpoint: "http://127.0.0.1:1", fetch: fakeFetch, now: () => clock }),
    {
      pollIntervalMs: 1000,
      logger: createMemoryLogger("info"),
      metrics: createMetrics(),
      onNotice: () => {},
      now: () => new Date(clock),
      sleep: async (ms) => {
        // A macrotask turn without timer clamping: the polls in flight finish first.
        await new Promise<void>((resolve) => {
          channel.port1.onmessage = () => resolve();
          channel.port2.postMessage(0);
        });
        clock += ms;
        if (++ticks >= 60) controller.abort();
      },
    },
  );
  await minute.run(controller.signal);
  channel.port1.close();
  channel.port2.close();
}

const round = await allocated(() => monitor.pollOnce(), 1000);
console.log(`bytes allocated per round of five GETs (pollOnce): median ${round[2]} (${round})`);
const minute = await allocated(simulatedMinute, 20);
console.log(
  `bytes allocated per simulated minute of run() at 1 s: median ${minute[2]} (${minute})`,
);
