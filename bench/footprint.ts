/**
 * Benchmark 3, footprint of the idle handler: resident set (`VmRSS`) after a minute of polling
 * with `POLL_INTERVAL=1` and the health/metrics listener on (as shipped), and the CPU it used
 * over that minute. Startup (first ~5 s) is excluded from the CPU share and reported apart.
 * The peak during a drain comes from the drain benchmark's runs.
 *
 * @module
 */

import { freePort } from "../tools/peers/peers.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { startStack } from "../tools/stack.ts";
import { sleep } from "../tools/wait.ts";
import { BENCH_NODE } from "./handler_run.ts";
import { cpuPercent, findPid, type ProcessSample, sampleProcess } from "./procfs.ts";

/** Options of {@linkcode runIdleFootprint}. */
export interface IdleOptions {
  /** From the first poll to the headline sample; 60 s by default. */
  windowMs: number;
  /** Startup excluded from the CPU share; 5 s by default. */
  settleMs: number;
  ticksPerSecond: number;
  /** `DENO_V8_FLAGS` for the handler, e.g. `--max-opt=1`. */
  v8Flags?: string;
  /** Extra `deno run` flags, e.g. `--no-config`. */
  denoFlags?: string[];
  /** In place of the shipped runtime flags, e.g. `[]` for none. */
  runtimeFlags?: readonly string[];
  /** Keep sampling until this settles (a longer window for a leak check); optional. */
  extendUntil?: Promise<unknown>;
  /** Between samples of the RSS series; 10 s by default. */
  sampleEveryMs?: number;
}

/** What an idle handler used. */
export interface IdleFootprint {
  v8Flags?: string;
  windowMs: number;
  /** VmRSS at the end of the window, bytes. */
  rss: number;
  rssAnon: number;
  rssFile: number;
  /** VmHWM at the end of the window. */
  hwm: number;
  /** Share of one core between settle and the end of the window, percent. */
  cpuPercent: number;
  /** CPU seconds used from process start until the settle point (start-up cost). */
  startupCpuSeconds: number;
  /** RSS (bytes) every `sampleEveryMs`, from the settle point. */
  series: number[];
  /** When extended: the longer window's length, final RSS and CPU share. */
  extended?: { windowMs: number; rss: number; cpuPercent: number };
}

/**
 * Run one idle handler and measure it.
 *
 * @example
 * ```ts
 * const idle = await runIdleFootprint({ windowMs: 60_000, settleMs: 5_000, ticksPerSecond: 100 });
 * console.log(idle.rss, idle.cpuPercent);
 * ```
 */
export async function runIdleFootprint(options: IdleOptions): Promise<IdleFootprint> {
  const every = options.sampleEveryMs ?? 10_000;
  const firstPoll = Promise.withResolvers<number>();
  const stack = await startStack({
    node: BENCH_NODE,
    group: null,
    imds: { onRequest: () => firstPoll.resolve(performance.now()) },
  });
  const env: Record<string, string> = {
    ...stack.env,
    POLL_INTERVAL: "1",
    METRICS_PORT: String(freePort()),
  };
  if (options.v8Flags) env.DENO_V8_FLAGS = options.v8Flags;
  const handler = spawnHandler({
    kubeconfig: stack.kubeconfig,
    env,
    denoFlags: options.denoFlags,
    runtimeFlags: options.runtimeFlags,
  });
  try {
    const timeout = setTimeout(
      () => firstPoll.reject(new Error("no IMDS poll within 60 s")),
      60_000,
    );
    const t0 = await firstPoll.promise.finally(() => clearTimeout(timeout));
    const pid = await findPid(stack.kubeconfig);
    const until = (ms: number) => sleep(Math.max(0, t0 + ms - performance.now()));
    await until(options.settleMs);
    const settled = await sampleProcess(pid);
    const series = [settled.rss];
    let next = options.settleMs + every;
    while (next < options.windowMs) {
      await until(next);
      series.push((await sampleProcess(pid)).rss);
      next += every;
    }
    await until(options.windowMs);
    const end = await sampleProcess(pid);
    series.push(end.rss);
    const result: IdleFootprint = {
      v8Flags: options.v8Flags,
      windowMs: options.windowMs,
      rss: end.rss,
      rssAnon: end.rssAnon,
      rssFile: end.rssFile,
      hwm: end.hwm,
      cpuPercent: cpuPercent(settled, end, options.ticksPerSecond),
      startupCpuSeconds: settled.cpuTicks / options.ticksPerSecond,
      series,
    };
    if (options.extendUntil) {
      let done = false;
      options.extendUntil.finally(() => done = true).catch(() => {});
      let last: ProcessSample = end;
      while (!done) {
        await Promise.race([sleep(every), options.extendUntil.catch(() => {})]);
        last = await sampleProcess(pid);
        series.push(last.rss);
      }
      result.extended = {
        windowMs: Math.round(last.at - t0),
        rss: last.rss,
        cpuPercent: cpuPercent(settled, last, options.ticksPerSecond),
      };
    }
    return result;
  } finally {
    await handler.stop();
    await stack.close();
  }
}
