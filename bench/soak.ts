/**
 * Benchmark 5, soak: idle handlers left running for minutes with their resident set and CPU read
 * from /proc every few seconds, reduced to a slope (least squares, MiB per hour), a peak and a CPU
 * share. A sawtooth that a major GC brings back down has a peak but no slope; a leak has both.
 *
 * Side by side in one run, all polling once a second against IMDS with session tokens required:
 * the handler with nobody reading `/metrics`, the handler scraped every 15 s as Prometheus would,
 * the handler without its shipped V8 flags (what they buy over time),
 * three floors run by the same `deno` with the shipped V8 flags (an empty script that only keeps a
 * timer; a minimal poller of the same IMDS path with `fetch` and a `Deno.serve` listener, what
 * any Deno handler pays; a script that only imports `@kubernetes/client-node`, the floor under
 * the handler's peak during a drain),
 * and, when tools/peers/setup.sh has built them, aws-node-termination-handler and the handler
 * against amazon-ec2-metadata-mock (`--imdsv2`) and a real kube-apiserver.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { spawnHandler } from "../tools/handler_process.ts";
import { type Stack, startStack } from "../tools/stack.ts";
import {
  DEFAULT_PEERS_DIR,
  freePort,
  locatePeers,
  type Peers,
  startPeers,
} from "../tools/peers/peers.ts";
import { createNode } from "../e2e/peers/workloads.ts";
import { sleep } from "../tools/wait.ts";
import { BENCH_NODE } from "./handler_run.ts";
import { NTH_BINARY, startNoticeAemm, startNth, startOurs } from "./peers.ts";
import { cpuPercent, findPid, type ProcessSample, sampleProcess } from "./procfs.ts";
import { HANDLER_PERMISSIONS } from "../lib/permissions.ts";
import { HANDLER_RUNTIME_FLAGS } from "../lib/runtime_flags.ts";

const MIB = 1_048_576;
const HOUR_MS = 3_600_000;

/** One reading of a soaked process. */
export type SoakSample = Pick<ProcessSample, "rss" | "cpuTicks" | "at">;

/** What one soaked process did over the whole soak. */
export interface SoakStats {
  samples: number;
  /** From the first to the last sample. */
  durationMs: number;
  firstRss: number;
  lastRss: number;
  minRss: number;
  peakRss: number;
  /** Least-squares slope of RSS over time, MiB per hour. */
  slopeMiBPerHour: number;
  /** Share of one core from the first to the last sample, percent. */
  cpuPercent: number;
}

/**
 * The least-squares slope of `y` over `x`. Throws a RangeError with fewer than two points, a
 * non-finite value, or every `x` equal (no slope exists).
 *
 * @example
 * ```ts
 * leastSquaresSlope([0, 1, 2], [1, 3, 5]); // 2
 * ```
 */
export function leastSquaresSlope(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) {
    throw new RangeError(`leastSquaresSlope: ${x.length} x values but ${y.length} y values`);
  }
  if (x.length < 2) throw new RangeError("leastSquaresSlope: needs at least two points");
  const bad = [...x, ...y].find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new RangeError(`leastSquaresSlope: not a finite number: ${bad}`);
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  if (sxx === 0) throw new RangeError("leastSquaresSlope: every x is the same");
  return sxy / sxx;
}

/**
 * Reduce a process's samples (in time order) to the soak figures.
 *
 * @example
 * ```ts
 * soakStats([
 *   { at: 0, rss: 50 * 1_048_576, cpuTicks: 0 },
 *   { at: 3_600_000, rss: 52 * 1_048_576, cpuTicks: 360 },
 * ], 100); // slopeMiBPerHour 2, peakRss 52 MiB, cpuPercent 0.1
 * ```
 */
export function soakStats(samples: readonly SoakSample[], ticksPerSecond: number): SoakStats {
  if (samples.length < 2) throw new RangeError("soakStats: needs at least two samples");
  const first = samples[0];
  const last = samples[samples.length - 1];
  const rss = samples.map((s) => s.rss);
  return {
    samples: samples.length,
    durationMs: last.at - first.at,
    firstRss: first.rss,
    lastRss: last.rss,
    minRss: Math.min(...rss),
    peakRss: Math.max(...rss),
    slopeMiBPerHour: leastSquaresSlope(
      samples.map((s) => s.at / HOUR_MS),
      rss.map((b) => b / MIB),
    ),
    cpuPercent: cpuPercent(first, last, ticksPerSecond),
  };
}

/** Who was soaked. */
export type SoakSubjectKind =
  | "ours"
  | "ours-scraped"
  | "ours-no-v8-flags"
  | "floor-empty"
  | "floor-poller"
  | "floor-client"
  | "ours-peers"
  | "nth";

/** Every kind, in the order of the table. */
export const SOAK_SUBJECTS: readonly SoakSubjectKind[] = [
  "ours",
  "ours-scraped",
  "ours-no-v8-flags",
  "floor-empty",
  "floor-poller",
  "floor-client",
  "ours-peers",
  "nth",
];

/** One soaked process and its figures. */
export interface SoakSubject {
  kind: SoakSubjectKind;
  stats: SoakStats;
  /** RSS (bytes) of every sample, for the series in RESULTS.md. */
  series: number[];
  /** ours-scraped: scrapes answered 200, and any that were not. */
  scrapes?: { ok: number; failed: number };
}

/** What the soak measured. */
export interface SoakResult {
  /** When sampling began (ISO 8601): a soak may run apart from the other sections. */
  startedAt?: string;
  minutes: number;
  everyMs: number;
  scrapeEveryMs: number;
  subjects: SoakSubject[];
  /** Why aws-node-termination-handler was left out, when it was. */
  peersMissing?: string;
}

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  minutes: number;
  /** Between samples; 10 s by default. */
  everyMs?: number;
  /** Between `/metrics` scrapes of the scraped handler; 15 s by default. */
  scrapeEveryMs?: number;
  ticksPerSecond: number;
  /** Run aws-node-termination-handler and the handler on the real peers when built; default true. */
  peers?: boolean;
  /** Extra `DENO_V8_FLAGS` for every handler and floor (to try a fix). */
  v8Flags?: string;
  onLine?: (line: string) => void;
}

/** A process being soaked. */
interface Running {
  kind: SoakSubjectKind;
  pid: number;
  stop(): Promise<void>;
  scrapes?: { ok: number; failed: number };
}

const FLOOR_POLLER = fileURLToPath(new URL("./floor_poller.ts", import.meta.url));
const FLOOR_EMPTY = fileURLToPath(new URL("./floor_empty.ts", import.meta.url));
const FLOOR_CLIENT = fileURLToPath(new URL("./floor_client.ts", import.meta.url));

/** Wait (bounded) for a process's first IMDS request. */
async function firstRequest(seen: Promise<void>, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      seen,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`soak: ${what} never polled IMDS`)), 60_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function startStandIn(
  kind: "ours" | "ours-scraped" | "ours-no-v8-flags",
  options: { scrapeEveryMs: number; v8Flags?: string },
): Promise<Running & { stack: Stack }> {
  const polled = Promise.withResolvers<void>();
  const stack = await startStack({
    node: BENCH_NODE,
    group: null,
    imds: { requireToken: true, onRequest: () => polled.resolve() },
  });
  const port = freePort();
  const env: Record<string, string> = {
    ...stack.env,
    POLL_INTERVAL: "1",
    METRICS_PORT: String(port),
  };
  if (options.v8Flags) env.DENO_V8_FLAGS = options.v8Flags;
  const handler = spawnHandler({
    kubeconfig: stack.kubeconfig,
    env,
    runtimeFlags: kind === "ours-no-v8-flags" ? [] : undefined,
  });
  const stopAll = async () => {
    await handler.stop();
    await stack.close();
  };
  try {
    await firstRequest(polled.promise, kind);
    const pid = await findPid(stack.kubeconfig);
    let timer: ReturnType<typeof setInterval> | undefined;
    let scrapes: { ok: number; failed: number } | undefined;
    if (kind === "ours-scraped") {
      const counts = { ok: 0, failed: 0 };
      scrapes = counts;
      const scrape = async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
            signal: AbortSignal.timeout(5_000),
          });
          await res.arrayBuffer();
          if (res.status === 200) counts.ok++;
          else counts.failed++;
        } catch {
          counts.failed++;
        }
      };
      timer = setInterval(scrape, options.scrapeEveryMs);
    }
    return {
      kind,
      pid,
      stack,
      scrapes,
      async stop() {
        clearInterval(timer);
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A floor: a script run by the same `deno`, polling the stand-in IMDS (or not at all). */
async function startFloor(
  kind: "floor-empty" | "floor-poller" | "floor-client",
  options: { v8Flags?: string },
): Promise<Running> {
  const polled = Promise.withResolvers<void>();
  const stack = await startStack({
    node: BENCH_NODE,
    group: null,
    imds: { requireToken: true, onRequest: () => polled.resolve() },
  });
  const env: Record<string, string> = { NO_COLOR: "1", IMDS: stack.imds.url, PORT: "0" };
  for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  if (options.v8Flags) env.DENO_V8_FLAGS = options.v8Flags;
  const script =
    { "floor-poller": FLOOR_POLLER, "floor-empty": FLOOR_EMPTY, "floor-client": FLOOR_CLIENT }[
      kind
    ];
  // The client reads its environment and files while loading: the handler's own permissions.
  const permissions = kind === "floor-client"
    ? [...HANDLER_PERMISSIONS]
    : ["--allow-net=127.0.0.1", "--allow-env=IMDS,PORT"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, ...HANDLER_RUNTIME_FLAGS, script],
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await stack.close();
  };
  try {
    // The others never poll; give them time to start (and the client to load) instead.
    if (kind === "floor-poller") await firstRequest(polled.promise, kind);
    else await sleep(kind === "floor-client" ? 15_000 : 2_000);
    return { kind, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** aws-node-termination-handler and the handler on the real peers, sharing one `--imdsv2` AEMM. */
async function startOnPeers(
  peers: Peers,
  options: { logDir: string; kubeconfigPath: string },
): Promise<Running[]> {
  const aemm = await startNoticeAemm(peers, 3600, { imdsv2: true });
  const out: Running[] = [];
  for (const kind of ["ours-peers", "nth"] as const) {
    const node = `soak-${kind}`;
    await createNode(peers.admin, node);
    const logPath = `${options.logDir}/soak-${kind}.log`;
    const r = kind === "nth"
      ? startNth(peers, { node, aemm, logPath })
      : startOurs({ node, aemm, kubeconfigPath: options.kubeconfigPath, logPath });
    out.push({ kind, pid: r.pid, stop: () => r.stop() });
  }
  return out;
}

/**
 * Run the soak. Every process is stopped before returning, also on failure.
 *
 * @example
 * ```ts
 * const soak = await runSoak({ minutes: 30, ticksPerSecond: 100 });
 * for (const s of soak.subjects) console.log(s.kind, s.stats.slopeMiBPerHour);
 * ```
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.onLine ?? (() => {});
  const everyMs = options.everyMs ?? 10_000;
  const scrapeEveryMs = options.scrapeEveryMs ?? 15_000;
  const running: Running[] = [];
  let peers: Peers | undefined;
  let home: string | undefined;
  let peersMissing: string | undefined;
  try {
    const started = await Promise.all([
      startStandIn("ours", { scrapeEveryMs, v8Flags: options.v8Flags }),
      startStandIn("ours-scraped", { scrapeEveryMs, v8Flags: options.v8Flags }),
      startStandIn("ours-no-v8-flags", { scrapeEveryMs, v8Flags: options.v8Flags }),
      startFloor("floor-empty", { v8Flags: options.v8Flags }),
      startFloor("floor-poller", { v8Flags: options.v8Flags }),
      startFloor("floor-client", { v8Flags: options.v8Flags }),
    ]);
    running.push(...started);
    if (options.peers ?? true) {
      const found = locatePeers();
      if (!found.ok) {
        peersMissing = `peers not built (missing ${
          found.missing.map((p) => p.split("/").pop()).join(", ")
        })`;
      } else if (!(await exists(NTH_BINARY))) {
        peersMissing = "aws-node-termination-handler not built";
      } else if (!(await canUnshareMount())) {
        peersMissing = "cannot make a private mount namespace (unshare --mount)";
      } else {
        const logDir = `${DEFAULT_PEERS_DIR}/logs/soak`;
        peers = await startPeers(found.binaries, { logDir });
        home = await Deno.makeTempDir({ prefix: "sth-soak-" });
        const kubeconfigPath = `${home}/handler.kubeconfig`;
        await peers.writeKubeconfig(kubeconfigPath, peers.adminToken);
        running.push(...await startOnPeers(peers, { logDir, kubeconfigPath }));
        // Past start-up, as for the stand-in handlers (they waited for their first poll).
        await sleep(5_000);
      }
    } else peersMissing = "not asked for";
    if (peersMissing) log(`  soak: aws-node-termination-handler left out: ${peersMissing}`);

    const samples = new Map<Running, SoakSample[]>(running.map((r) => [r, []]));
    const startedAt = new Date().toISOString();
    const t0 = performance.now();
    const endAt = t0 + options.minutes * 60_000;
    for (let next = t0; next <= endAt + 1; next += everyMs) {
      await sleep(Math.max(0, next - performance.now()));
      const read = await Promise.all(running.map((r) => sampleProcess(r.pid)));
      running.forEach((r, i) => samples.get(r)!.push(read[i]));
      const minute = (performance.now() - t0) / 60_000;
      if (Math.round(minute * 60_000 / everyMs) % Math.max(1, Math.round(60_000 / everyMs)) === 0) {
        log(
          `  soak ${minute.toFixed(1)} min: ` +
            running.map((r, i) => `${r.kind} ${(read[i].rss / MIB).toFixed(1)}`).join(", ") +
            " MiB",
        );
      }
    }
    const subjects = running.map((r): SoakSubject => {
      const s = samples.get(r)!;
      const subject: SoakSubject = {
        kind: r.kind,
        stats: soakStats(s, options.ticksPerSecond),
        series: s.map((x) => x.rss),
      };
      if (r.scrapes) subject.scrapes = { ...r.scrapes };
      return subject;
    });
    return {
      startedAt,
      minutes: options.minutes,
      everyMs,
      scrapeEveryMs,
      subjects,
      peersMissing,
    };
  } finally {
    for (const r of running) await r.stop().catch(() => {});
    await peers?.stop();
    if (home) await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

/** aws-node-termination-handler runs in a private mount namespace (see bench/peers.ts). */
async function canUnshareMount(): Promise<boolean> {
  const probe = await new Deno.Command("unshare", {
    args: ["--mount", "true"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => undefined);
  return probe?.success ?? false;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
