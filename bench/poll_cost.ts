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

import { idleImdsFetch, idleMonitor, simulatedMinute } from "./idle_imds.ts";

const SAMPLES = 7;
let gets = 0;
const fakeFetch = idleImdsFetch(() => gets++);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc,--max-semi-space-size=256");

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

const roundMonitor = idleMonitor(fakeFetch);
const round = await measure(() => roundMonitor.pollOnce(), 1000);
const minute = await measure(() => simulatedMinute(fakeFetch), 2);
const fmt = (s: Sample) => `${s.gets} GETs, ${Math.round(s.heapBytes / 1024)} KiB allocated`;
console.log(`one round of all five paths (pollOnce): ${fmt(round)}`);
console.log(`one simulated minute of run() at POLL_INTERVAL=1s: ${fmt(minute)}`);
