/**
 * `deno task bench`: detection latency, drain speed against `kubectl drain`, and footprint of the
 * real handler on the local stack; writes bench/RESULTS.md. See `--help`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runDetectionBench } from "./detection.ts";
import { DELETE_AFTER_MS, drainCases, runKubectlDrains, runOurDrains } from "./drain.ts";
import { runIdleFootprint } from "./footprint.ts";
import { runPeerBench } from "./peers.ts";
import { runSoak } from "./soak.ts";
import { formatMiB, formatMs } from "./format.ts";
import { kubectlVersion, machineInfo } from "./machine.ts";
import { clockTicksPerSecond } from "./procfs.ts";
import { type BenchResults, renderResults, verdicts } from "./report.ts";

const USAGE = `Usage: deno task bench [options]

Runs the handler (main.ts, shipped permissions) against the mock IMDS and the Kubernetes API
stand-in, and kubectl drain beside it; writes bench/RESULTS.md.

Options:
  --runs N            runs per case (default 5)
  --kubectl-runs N    kubectl drains per case (default: runs, at most 3; 0 skips kubectl)
  --idle N            idle handlers measured at once (default 3; --quick: 1)
  --idle-window S     seconds from the first poll to the idle reading (default 60; --quick:
                      10); longer for a leak check
  --quick             1 run per case and a 10 s idle window: a smoke test (~2 min)
  --only LIST         comma-separated: detection, drain, footprint, peers, soak (default:
                      all but soak; peers needs tools/peers/setup.sh and is skipped with the
                      reason without)
  --soak MINUTES      also run the soak (idle handlers with and without /metrics scraping,
                      two floors, aws-node-termination-handler when built) for MINUTES, beside
                      the other benchmarks (default 30 when --only names soak)
  --soak-every S      seconds between soak samples (default 10)
  --peer-runs N       drains per tool and size on the real peers (default: runs, at most 3)
  --v8-flags=FLAGS    DENO_V8_FLAGS for every handler run (to try a fix; write it with =,
                      since FLAGS starts with --)
  --variant=FLAGS     DENO_V8_FLAGS of more idle handlers measured beside the shipped ones
                      (default none); handlers without the shipped V8 flags always run
  --out PATH          where to write the results (default bench/RESULTS.md)
  --json PATH         also write the raw results as JSON
  --render PATH       run nothing: write the results file from the JSON of an earlier run
  --help              show this help`;

const SECTIONS = ["detection", "drain", "footprint", "peers", "soak"] as const;
const DEFAULT_SECTIONS: readonly Section[] = ["detection", "drain", "footprint", "peers"];
type Section = typeof SECTIONS[number];

/** Parsed command line. */
export interface BenchArgs {
  runs: number;
  kubectlRuns: number;
  peerRuns: number;
  idleInstances: number;
  /** From the first poll to the idle reading. */
  idleWindowMs: number;
  quick: boolean;
  only: Set<Section>;
  v8Flags?: string;
  variant?: string;
  /** Length of the soak in minutes; undefined: no soak. */
  soakMinutes?: number;
  soakEveryMs: number;
  out: string;
  json?: string;
  /** Re-render from this JSON instead of running. */
  render?: string;
}

function count(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !(n >= min)) {
    throw new TypeError(
      `--${flag}: expected an integer of at least ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/**
 * Parse the command line; throws a TypeError naming the bad option. Returns undefined for
 * `--help`.
 *
 * @example
 * ```ts
 * parseBenchArgs(["--runs", "3", "--only", "drain"])!.runs; // 3
 * ```
 */
export function parseBenchArgs(args: string[]): BenchArgs | undefined {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: "string" },
      "kubectl-runs": { type: "string" },
      "peer-runs": { type: "string" },
      idle: { type: "string" },
      "idle-window": { type: "string" },
      quick: { type: "boolean" },
      only: { type: "string" },
      "v8-flags": { type: "string" },
      variant: { type: "string" },
      soak: { type: "string" },
      "soak-every": { type: "string" },
      out: { type: "string" },
      json: { type: "string" },
      render: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick ?? false;
  const runs = values.runs !== undefined ? count("runs", values.runs, 1) : quick ? 1 : 5;
  const kubectlRuns = values["kubectl-runs"] !== undefined
    ? count("kubectl-runs", values["kubectl-runs"], 0)
    : Math.min(runs, 3);
  const peerRuns = values["peer-runs"] !== undefined
    ? count("peer-runs", values["peer-runs"], 1)
    : Math.min(runs, 3);
  const idleInstances = values.idle !== undefined ? count("idle", values.idle, 1) : quick ? 1 : 3;
  const idleWindowMs = values["idle-window"] !== undefined
    ? count("idle-window", values["idle-window"], 10) * 1000
    : quick
    ? 10_000
    : 60_000;
  const only = new Set<Section>();
  for (const name of (values.only ?? DEFAULT_SECTIONS.join(",")).split(",").map((s) => s.trim())) {
    if (!SECTIONS.includes(name as Section)) {
      throw new TypeError(`--only: unknown benchmark ${JSON.stringify(name)}; use ${SECTIONS}`);
    }
    only.add(name as Section);
  }
  if (values.soak !== undefined) only.add("soak");
  const soakMinutes = values.soak !== undefined
    ? count("soak", values.soak, 1)
    : only.has("soak")
    ? 30
    : undefined;
  const soakEveryMs = values["soak-every"] !== undefined
    ? count("soak-every", values["soak-every"], 1) * 1000
    : 10_000;
  const variant = values.variant ?? "";
  return {
    runs,
    kubectlRuns,
    peerRuns,
    idleInstances,
    idleWindowMs,
    quick,
    only,
    v8Flags: values["v8-flags"] || undefined,
    variant: variant === "" ? undefined : variant,
    soakMinutes,
    soakEveryMs,
    out: values.out ?? `${import.meta.dirname}/RESULTS.md`,
    json: values.json,
    render: values.render,
  };
}

/**
 * Results written by `--json`, read back (the machine's date becomes a Date again).
 *
 * @example
 * ```ts
 * const results = parseResultsJson(await Deno.readTextFile("/tmp/bench.json"));
 * ```
 */
export function parseResultsJson(text: string): BenchResults {
  const results = JSON.parse(text) as BenchResults;
  if (!results?.machine || !results.settings) {
    throw new SyntaxError("bench results JSON: no machine or settings");
  }
  results.machine.date = new Date(results.machine.date);
  if (Number.isNaN(results.machine.date.getTime())) {
    throw new SyntaxError("bench results JSON: machine.date is not a date");
  }
  return results;
}

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function main(args: string[]): Promise<number> {
  let opts: BenchArgs | undefined;
  try {
    opts = parseBenchArgs(args);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : error}\nTry --help.`);
    return 2;
  }
  if (!opts) {
    console.log(USAGE);
    return 0;
  }
  if (opts.render) {
    await Deno.writeTextFile(
      opts.out,
      renderResults(parseResultsJson(await Deno.readTextFile(opts.render))),
    );
    log(`wrote ${opts.out} from ${opts.render}`);
    return 0;
  }
  const started = performance.now();
  const env = opts.v8Flags ? { DENO_V8_FLAGS: opts.v8Flags } : undefined;
  const results: BenchResults = {
    machine: await machineInfo(),
    settings: {
      runs: opts.runs,
      kubectlRuns: opts.kubectlRuns,
      kubectlConcurrency: 4,
      idleInstances: opts.idleInstances,
      quick: opts.quick,
      v8Flags: opts.v8Flags,
      variantV8Flags: opts.variant,
      deleteAfterMs: DELETE_AFTER_MS,
      idleSettleMs: opts.quick ? 2_000 : 5_000,
    },
  };
  const m = results.machine;
  log(`${m.cpuModel}, ${m.cores} cores, Deno ${m.deno}, ${m.kubectl ?? "no kubectl"}`);
  const ticks = await clockTicksPerSecond();

  // The soak's handlers are idle and their CPU is read per process, so they run beside the
  // stand-in benchmarks instead of after them; the real-peer benchmark waits for the soak, so its
  // drains do not share the machine with the soak's second API server.
  let soakDone: Promise<void> | undefined;
  if (opts.soakMinutes !== undefined) {
    log(`soak: ${opts.soakMinutes} min, a sample every ${opts.soakEveryMs / 1000} s`);
    soakDone = runSoak({
      minutes: opts.soakMinutes,
      everyMs: opts.soakEveryMs,
      ticksPerSecond: ticks,
      v8Flags: opts.v8Flags,
      onLine: log,
    }).then((soak) => {
      results.soak = soak;
      for (const s of soak.subjects) {
        log(
          `  soak ${s.kind}: peak ${formatMiB(s.stats.peakRss)}, slope ` +
            `${s.stats.slopeMiBPerHour.toFixed(1)} MiB/h, CPU ${s.stats.cpuPercent.toFixed(2)} %`,
        );
      }
    }).catch((error) => {
      results.soakFailed = error instanceof Error ? error.message : String(error);
      log(`soak failed: ${results.soakFailed}`);
    });
  }

  if (opts.only.has("detection")) {
    log(`detection latency: ${opts.runs} cold + ${opts.runs} warm runs`);
    results.detection = await runDetectionBench({
      runs: opts.runs,
      env,
      onRun: (label, s) =>
        log(
          `  ${label}: served→cordon ${formatMs(s.servedToCordon)} ` +
            `(poll wait ${formatMs(s.servedToSeen)}, poll→cordon ${formatMs(s.seenToCordon)})`,
        ),
    });
  }

  const cases = opts.only.has("drain") ? drainCases() : undefined;
  if (cases) {
    results.drain = cases;
    log(`drain, handler: ${cases.length} cases × ${opts.runs} runs`);
    await runOurDrains(cases, {
      runs: opts.runs,
      env,
      onRun: (c, s) =>
        log(
          `  ${c.pods} pods @${c.latencyMs} ms: issued ${formatMs(s.allIssued)}, ` +
            `accepted ${formatMs(s.lastAccepted)}, done ${formatMs(s.done)}, ` +
            `${s.requests} requests, peak ${formatMiB(s.peakRss)}`,
        ),
    });
  }

  // kubectl is throttled to ~10 requests/s and nearly idle on CPU, so its drains run beside the
  // idle-footprint window (and extend it into a longer leak check) instead of after it.
  const windowMs = opts.idleWindowMs;
  const settleMs = results.settings.idleSettleMs;
  let kubectlDone: Promise<void> | undefined;
  if (cases && opts.kubectlRuns > 0) {
    if (await kubectlVersion()) {
      log(`drain, kubectl: ${cases.length} cases × ${opts.kubectlRuns} runs, 4 at a time`);
      kubectlDone = runKubectlDrains(cases, {
        runs: opts.kubectlRuns,
        concurrency: results.settings.kubectlConcurrency,
        onRun: (c, s) =>
          log(
            `  kubectl ${c.pods} pods @${c.latencyMs} ms: issued ${formatMs(s.allIssued)}, ` +
              `exit ${formatMs(s.exit)}, ${s.requests} requests`,
          ),
      });
    } else log("kubectl not found on PATH: skipping the kubectl side of the drain benchmark");
  }
  if (opts.only.has("footprint")) {
    type IdleRun = { v8Flags?: string; denoFlags?: string[]; runtimeFlags?: readonly string[] };
    const idle = (run: IdleRun) =>
      Promise.all(
        Array.from({ length: opts.idleInstances }, () =>
          runIdleFootprint({
            windowMs,
            settleMs,
            ticksPerSecond: ticks,
            ...run,
            extendUntil: kubectlDone,
          })),
      );
    // Beside the shipped handler: the same without its V8 flags (what they buy), and a V8-flag
    // experiment when asked for. (A `deno run --no-config` variant, closer to the compiled
    // binary, no longer starts: main.ts imports an npm package at load since the webhook
    // templates, and without deno.json the bare specifier does not resolve.)
    const variants: { label: string; run: IdleRun }[] = [
      { label: "without the shipped V8 flags", run: { v8Flags: opts.v8Flags, runtimeFlags: [] } },
    ];
    if (opts.variant) {
      variants.push({ label: `\`DENO_V8_FLAGS=${opts.variant}\``, run: { v8Flags: opts.variant } });
    }
    log(
      `footprint: ${opts.idleInstances} idle handler(s) for ${windowMs / 1000} s, beside as ` +
        `many per variant: ${variants.map((v) => v.label).join(", ")}`,
    );
    const [shipped, ...others] = await Promise.all([
      idle({ v8Flags: opts.v8Flags }),
      ...variants.map((v) => idle(v.run)),
    ]);
    results.idle = shipped;
    results.idleVariants = variants.map((v, i) => ({ label: v.label, handlers: others[i] }));
    for (
      const [label, group] of [
        ["as shipped", shipped],
        ...variants.map((v, i) => [v.label, others[i]]),
      ] as [string, typeof shipped][]
    ) {
      for (const i of group) {
        log(
          `  ${label}: RSS ${formatMiB(i.rss)}, CPU ${i.cpuPercent.toFixed(2)} %` +
            (i.extended
              ? `; after ${Math.round(i.extended.windowMs / 1000)} s ${formatMiB(i.extended.rss)}`
              : ""),
        );
      }
    }
  }
  await kubectlDone;
  await soakDone;

  if (opts.only.has("peers")) {
    log(`on real peers: ${opts.peerRuns} run(s) per tool and size`);
    results.peers = await runPeerBench({
      runs: opts.peerRuns,
      sizes: opts.quick ? [30] : undefined,
      idleWindowMs: windowMs,
      onLine: log,
    });
    if (!results.peers.ran) log(`  skipped: ${results.peers.reason}`);
  }

  results.settings.durationMs = performance.now() - started;
  await Deno.writeTextFile(opts.out, renderResults(results));
  if (opts.json) await Deno.writeTextFile(opts.json, JSON.stringify(results, null, 2) + "\n");
  log(`wrote ${opts.out} in ${formatMs(results.settings.durationMs)}`);
  for (const v of verdicts(results)) {
    const verdict = v.met === undefined ? "not measured" : v.met ? "met" : "MISSED";
    log(`  ${verdict.padEnd(12)} ${v.target}: ${v.measured} (goal ${v.goal})`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
