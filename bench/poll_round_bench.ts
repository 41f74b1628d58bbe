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

import { idleMonitor, simulatedMinute } from "./idle_imds.ts";

const roundMonitor = idleMonitor();

Deno.bench("one round of all five notice paths (pollOnce)", async () => {
  await roundMonitor.pollOnce();
});

Deno.bench("one simulated minute of run() at POLL_INTERVAL=1s", async () => {
  await simulatedMinute();
});
