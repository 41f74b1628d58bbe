/**
 * What IMDS polling costs the handler in-process, per simulated minute of `run()` at the default
 * `POLL_INTERVAL` of 1 s and per round of all five paths: GET requests and heap bytes allocated
 * (CPU time: bench/poll_round_bench.ts). The IMDS client runs against a fetch that answers at once (a token for the PUT, 404
 * for every GET), so what is measured is our own work (URLs, headers, signals, timers, parsing),
 * not the network.
 *
 * `deno run --v8-flags=--expose-gc,--max-semi-space-size=256 --allow-net bench/poll_cost.ts`
 *
 * The young generation is made large enough that no collection runs inside a sample (a few MB),
 * so the growth of the heap is what the sample allocated. Each figure is the median of 7 samples.
 *
 * @module
 */

import { createImds } from "../lib/imds.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { createMonitor } from "../lib/monitor.ts";

const TOKEN = "AQAEAFl0cmFuc3BvcnQtc3RhbmQtaW4tdG9rZW4tZm9yLXRoZS1iZW5jaC0xMjM0NTY3OA==";
// IMDS declares the length of every answer.
const NOT_FOUND_HEADERS = { "content-type": "text/plain", "content-length": "10" };
const SAMPLES = 7;
let gets = 0;
const fakeFetch: typeof fetch = (_input, init) => {
  if (init?.method === "PUT") return Promise.resolve(new Response(TOKEN));
  gets++;
  return Promise.resolve(new Response("Not Found\n", { status: 404, headers: NOT_FOUND_HEADERS }));
};

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc,--max-semi-space-size=256");

/** One simulated minute of run() at a 1 s interval on a fake clock. */
async function simulatedMinute(): Promise<void> {
  let clock = Date.parse("2026-11-25T10:00:00Z");
  const controller = new AbortController();
  let wakeups = 0;
  const monitor = createMonitor(
    createImds({ endpoint: "http://127.0.0.1:1", fetch: fakeFetch, now: () => new Date(clock) }),
    {
      pollIntervalMs: 1000,
      logger: createMemoryLogger("info"),
      metrics: createMetrics(),
      onNotice: () => {},
      now: () => new Date(clock),
      sleep: async (ms) => {
        // Enough promise turns for every poll in flight to settle (the fake fetch answers at
        // once; the GET count shows none was skipped), without the cost of a real timer.
        for (let i = 0; i < 64; i++) await null;
        clock += ms;
        if (++wakeups >= 60) controller.abort();
      },
    },
  );
  await monitor.run(controller.signal);
}

interface Sample {
  gets: number;
  heapBytes: number;
}

async function measure(work: () => Promise<unknown>, count: number): Promise<Sample> {
  for (let i = 0; i < count; i++) await work();
  const samples: Sample[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    gc!();
    const getsBefore = gets;
    const heap = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) await work();
    const heapBytes = Deno.memoryUsage().heapUsed - heap;
    samples.push({ gets: (gets - getsBefore) / count, heapBytes: heapBytes / count });
  }
  const median = (pick: (s: Sample) => number) =>
    samples.map(pick).sort((a, b) => a - b)[Math.floor(SAMPLES / 2)];
  return { gets: median((s) => s.gets), heapBytes: median((s) => s.heapBytes) };
}

const roundMonitor = createMonitor(
  createImds({ endpoint: "http://127.0.0.1:1", fetch: fakeFetch }),
  { pollIntervalMs: 1000, logger: createMemoryLogger("info"), onNotice: () => {} },
);
const round = await measure(() => roundMonitor.pollOnce(), 1000);
const minute = await measure(simulatedMinute, 2);
const fmt = (s: Sample) => `${s.gets} GETs, ${Math.round(s.heapBytes / 1024)} KiB allocated`;
console.log(`one round of all five paths (pollOnce): ${fmt(round)}`);
console.log(`one simulated minute of run() at POLL_INTERVAL=1s: ${fmt(minute)}`);
