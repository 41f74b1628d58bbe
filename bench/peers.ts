/**
 * Benchmark 4, on real peers (issue 7): the handler, aws-node-termination-handler (IMDS mode) and
 * `kubectl drain`, one after another against the same kube-apiserver (kwok as the kubelet, the
 * disruption controller running) and, for the two handlers, the same amazon-ec2-metadata-mock.
 * Each run gets a fresh node with the same pods. Measured from outside, the same way for all
 * three: when the notice was first served (the benchmark polls AEMM itself every 20 ms), when the
 * node became unschedulable, and when the last evictable pod was gone from the API server. The
 * idle resident set of both handlers is read from /proc after a minute with no notice.
 *
 * Needs the peers of tools/peers/setup.sh (aws-node-termination-handler is optional); without
 * them the section is skipped with the reason.
 *
 * @module
 */

import { FAKE_AWS_ENV } from "../e2e/peers/harness.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import {
  createNamespace,
  createNode,
  createOwner,
  createPod,
  type NodeState,
  type Owner,
  waitPodsReady,
} from "../e2e/peers/workloads.ts";
import {
  type Aemm,
  DEFAULT_PEERS_DIR,
  freePort,
  locatePeers,
  type Peers,
  startPeers,
} from "../tools/peers/peers.ts";
import { clockTicksPerSecond, cpuPercent, type ProcessSample, sampleProcess } from "./procfs.ts";
import { kubectlVersion } from "../tools/kubectl.ts";
import { sleep } from "../tools/wait.ts";
import { kubectlDrain } from "./kubectl_run.ts";
import { span } from "./timeline.ts";

/** The three ways of draining a node that are compared. */
export const PEER_TOOLS = ["ours", "nth", "kubectl"] as const;
/** One of {@linkcode PEER_TOOLS}. */
export type PeerTool = typeof PEER_TOOLS[number];

/** Pods per node in each case (ReplicaSet pods; two DaemonSet pods come on top). */
export const PEER_SIZES: readonly number[] = [30, 110];

/** The binary setup.sh builds for aws-node-termination-handler (optional). */
export const NTH_BINARY = `${DEFAULT_PEERS_DIR}/bin/aws-node-termination-handler`;

/** Instants (epoch ms) of one drain, as seen from outside. */
export interface PeerRunTimes {
  /** The handlers: AEMM first answered `spot/instance-action` with the notice. kubectl: start. */
  start: number;
  /** `spec.unschedulable` first seen true. */
  cordoned?: number;
  /** The last evictable pod first seen gone. */
  drained?: number;
  /** kubectl only: its exit. */
  exited?: number;
}

/** One drain, durations (ms) from {@linkcode PeerRunTimes.start}. */
export interface PeerSample {
  toCordon?: number;
  toDrained?: number;
  toExit?: number;
}

/** One size and the samples of each tool. */
export interface PeerCase {
  pods: number;
  samples: Record<PeerTool, PeerSample[]>;
}

/** An idle handler read from /proc. */
export interface PeerIdle {
  tool: "ours" | "nth";
  rss: number;
  cpuPercent: number;
}

/** What the peers benchmark measured, or why it did not run. */
export type PeerResult =
  | {
    ran: true;
    /** Versions of the peers, as setup.sh pins them. */
    versions: Record<string, string>;
    /** Tools left out, with the reason (e.g. aws-node-termination-handler not built). */
    missing: Partial<Record<PeerTool, string>>;
    cases: PeerCase[];
    idle: PeerIdle[];
    idleWindowMs: number;
  }
  | { ran: false; reason: string };

/** Options of {@linkcode runPeerBench}. */
export interface PeerBenchOptions {
  runs: number;
  sizes?: readonly number[];
  /** Length of the idle window; 60 s by default. */
  idleWindowMs?: number;
  onLine?: (line: string) => void;
}

/**
 * Durations of one drain from its times.
 *
 * @example
 * ```ts
 * peerSample({ start: 1_000, cordoned: 1_800, drained: 4_000 }); // { toCordon: 800, toDrained: 3000, toExit: undefined }
 * ```
 */
export function peerSample(times: PeerRunTimes): PeerSample {
  return {
    toCordon: span(times.start, times.cordoned),
    toDrained: span(times.start, times.drained),
    toExit: span(times.start, times.exited),
  };
}

/**
 * The versions setup.sh pins, read from its `NAME_VERSION=value` lines.
 *
 * @example
 * ```ts
 * peerVersions("KUBE_VERSION=v1.34.4\nNTH_VERSION=v1.25.1\n"); // { KUBE: "v1.34.4", NTH: "v1.25.1" }
 * ```
 */
export function peerVersions(setupScript: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of setupScript.matchAll(/^([A-Z]+)_VERSION=(\S+)$/gm)) out[m[1]] = m[2];
  return out;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Poll `probe` every `everyMs` until it is true; the epoch ms of that poll, or undefined. */
async function firstTrue(
  probe: () => Promise<boolean>,
  options: { everyMs: number; timeoutMs: number; signal?: AbortSignal },
): Promise<number | undefined> {
  const end = Date.now() + options.timeoutMs;
  while (Date.now() < end && !options.signal?.aborted) {
    const before = Date.now();
    try {
      if (await probe()) return before;
    } catch {
      // A failed poll (API server busy) is just a missed sample.
    }
    await sleep(Math.max(0, options.everyMs - (Date.now() - before)));
  }
  return undefined;
}

interface BenchNode {
  name: string;
  namespace: string;
  evictable: string[];
}

/** A fresh kwok node with `pods` ReplicaSet pods, two DaemonSet pods and a handler pod. */
async function prepareNode(
  peers: Peers,
  name: string,
  options: { pods: number; handlerOwner: Owner },
): Promise<BenchNode> {
  const api = peers.admin;
  const namespace = name;
  await createNamespace(api, namespace);
  await createNode(api, name);
  const web = await createOwner(api, namespace, {
    kind: "ReplicaSet",
    name: "web",
    replicas: options.pods,
  });
  const agent = await createOwner(api, namespace, { kind: "DaemonSet", name: "agent" });
  const evictable = Array.from({ length: options.pods }, (_, i) => `web-${i}`);
  const all = [...evictable, "agent-0", "agent-1"];
  // A few creations at a time: quick, and no burst that would slow the API server for others.
  for (let i = 0; i < evictable.length; i += 10) {
    await Promise.all(
      evictable.slice(i, i + 10).map((pod) =>
        createPod(api, namespace, { name: pod, node: name, owner: web })
      ),
    );
  }
  for (const pod of ["agent-0", "agent-1"]) {
    await createPod(api, namespace, { name: pod, node: name, owner: agent });
  }
  await createPod(api, "kube-system", {
    name: `sth-${name}`,
    node: name,
    owner: options.handlerOwner,
  });
  await waitPodsReady(api, namespace, all);
  return { name, namespace, evictable };
}

/** Watch a node from outside: cordon and "every evictable pod gone". */
function watchNode(peers: Peers, node: BenchNode, signal: AbortSignal) {
  const api = peers.admin;
  const cordoned = firstTrue(async () => {
    const state = await api.get<NodeState>(`/api/v1/nodes/${node.name}`);
    return state?.spec.unschedulable === true;
  }, { everyMs: 20, timeoutMs: 150_000, signal });
  const drained = firstTrue(async () => {
    const list = await api.get<{ items: { metadata: { name: string } }[] }>(
      `/api/v1/namespaces/${node.namespace}/pods?labelSelector=app%3Dweb`,
    );
    return list !== undefined && list.items.length === 0;
  }, { everyMs: 100, timeoutMs: 150_000, signal });
  return { cordoned, drained };
}

/** When AEMM first answers `spot/instance-action` with a notice (it has no IMDSv2 here). */
function watchServed(aemm: Aemm, signal: AbortSignal): Promise<number | undefined> {
  return firstTrue(async () => {
    const res = await fetch(`${aemm.url}/latest/meta-data/spot/instance-action`, {
      signal: AbortSignal.timeout(1_000),
    });
    await res.body?.cancel();
    return res.status === 200;
  }, { everyMs: 20, timeoutMs: 60_000, signal });
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/**
 * An AEMM whose spot notice appears after `delaySeconds` (an hour: an idle one), optionally
 * requiring IMDSv2 tokens.
 *
 * @example
 * ```ts
 * const aemm = await startNoticeAemm(peers, 3600, { imdsv2: true });
 * ```
 */
export async function startNoticeAemm(
  peers: Peers,
  delaySeconds: number,
  options: { imdsv2?: boolean } = {},
): Promise<Aemm> {
  return await peers.startAemm({
    imdsv2: options.imdsv2,
    // The notice appears after the delay, with a two-minute deadline (no deadline effects),
    // and the rebalance recommendation AEMM also serves is pushed an hour out.
    flags: ["--mock-delay-sec", String(delaySeconds), "--rebalance-delay-sec", "3600"],
    command: ["spot", "-a", "terminate", "-t", iso(Date.now() + delaySeconds * 1000 + 120_000)],
  });
}

/** A running handler (ours or aws-node-termination-handler) and its pid for /proc. */
export interface Running {
  pid: number;
  stop(): Promise<void>;
  /** The last lines, for a failure report. */
  tail(): string;
}

/**
 * The handler on the peers, as the e2e harness runs it (shipped permissions, `POLL_INTERVAL=1`).
 *
 * @example
 * ```ts
 * const ours = startOurs({ node, aemm, kubeconfigPath, logPath });
 * ```
 */
export function startOurs(
  options: { node: string; aemm: Aemm; kubeconfigPath: string; logPath: string },
): Running {
  const handler = spawnHandler({
    kubeconfig: options.kubeconfigPath,
    logPath: options.logPath,
    env: {
      NODE_NAME: options.node,
      POD_NAME: `sth-${options.node}`,
      NAMESPACE: "kube-system",
      KUBECONFIG: options.kubeconfigPath,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: options.aemm.url,
      POLL_INTERVAL: "1",
      ...FAKE_AWS_ENV,
      LOG_FORMAT: "json",
      METRICS_PORT: String(freePort()),
    },
  });
  return {
    pid: handler.pid,
    async stop() {
      await handler.stop();
    },
    tail: () => handler.lines.slice(-8).join("\n"),
  };
}

/**
 * aws-node-termination-handler in IMDS mode. It knows only in-cluster configuration (the
 * service-account token and CA under /var/run/secrets), so it runs in a private mount namespace
 * whose /run is a fresh tmpfs holding them: nothing on the machine's own paths is touched.
 *
 * @example
 * ```ts
 * const nth = startNth(peers, { node, aemm, logPath });
 * ```
 */
export function startNth(
  peers: Peers,
  options: { node: string; aemm: Aemm; logPath: string },
): Running {
  const api = new URL(peers.apiUrl);
  const script = [
    "set -e",
    "mount -t tmpfs tmpfs /run",
    "d=/run/secrets/kubernetes.io/serviceaccount",
    'mkdir -p "$d"',
    'printf %s "$NTH_TOKEN" > "$d/token"',
    'printf %s "$NTH_CA" > "$d/ca.crt"',
    'printf %s kube-system > "$d/namespace"',
    "unset NTH_TOKEN NTH_CA",
    'exec "$NTH_BINARY" >>"$NTH_LOG" 2>&1',
  ].join("\n");
  const child = new Deno.Command("unshare", {
    args: ["--mount", "--propagation", "private", "sh", "-c", script],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NTH_BINARY,
      NTH_LOG: options.logPath,
      NTH_TOKEN: peers.adminToken,
      NTH_CA: peers.caPem,
      KUBERNETES_SERVICE_HOST: api.hostname,
      KUBERNETES_SERVICE_PORT: api.port,
      NODE_NAME: options.node,
      INSTANCE_METADATA_URL: options.aemm.url,
      ENABLE_SPOT_INTERRUPTION_DRAINING: "true",
      ENABLE_SCHEDULED_EVENT_DRAINING: "false",
      ENABLE_REBALANCE_MONITORING: "false",
      ENABLE_SQS_TERMINATION_DRAINING: "false",
      IGNORE_DAEMON_SETS: "true",
      DELETE_LOCAL_DATA: "true",
      ENABLE_PROMETHEUS_SERVER: "false",
      ENABLE_PROBES_SERVER: "false",
      JSON_LOGGING: "true",
      AWS_REGION: "us-east-1",
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = child.status;
  return {
    // unshare and sh exec into the binary, so this is its pid.
    pid: child.pid,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      const late = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }, 15_000);
      await status;
      clearTimeout(late);
    },
    tail() {
      try {
        return Deno.readTextFileSync(options.logPath).trimEnd().split("\n").slice(-8).join("\n");
      } catch {
        return "(no log)";
      }
    },
  };
}

async function drainWithKubectl(
  node: string,
  options: { kubeconfig: string; home: string },
): Promise<number> {
  const out = await kubectlDrain(node, { ...options, timeoutSeconds: 150 });
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join("\n");
    throw new Error(`kubectl drain ${node} failed (exit ${out.code}): ${err}`);
  }
  return Date.now();
}

/**
 * Run the peers benchmark; `{ ran: false }` with the reason when the peers are not built.
 *
 * @example
 * ```ts
 * const result = await runPeerBench({ runs: 3, onLine: console.log });
 * if (!result.ran) console.log(result.reason);
 * ```
 */
export async function runPeerBench(options: PeerBenchOptions): Promise<PeerResult> {
  const log = options.onLine ?? (() => {});
  const found = locatePeers();
  if (!found.ok) {
    const names = found.missing.map((p) => p.split("/").pop()).join(", ");
    return { ran: false, reason: `peers not built (missing ${names}); run tools/peers/setup.sh` };
  }
  const missing: Partial<Record<PeerTool, string>> = {};
  if (!exists(NTH_BINARY)) {
    missing.nth = "not built (tools/peers/setup.sh nth)";
  } else {
    const probe = await new Deno.Command("unshare", {
      args: ["--mount", "true"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
    if (!probe?.success) missing.nth = "cannot make a private mount namespace (unshare --mount)";
  }
  const kubectlOk = (await kubectlVersion()) !== undefined;
  if (!kubectlOk) missing.kubectl = "kubectl not found on PATH";
  const tools = PEER_TOOLS.filter((t) => !(t in missing));
  const root = new URL("../", import.meta.url).pathname;
  const versions = peerVersions(await Deno.readTextFile(`${root}tools/peers/setup.sh`));

  const logDir = `${DEFAULT_PEERS_DIR}/logs/bench`;
  const peers = await startPeers(found.binaries, { logDir });
  const home = await Deno.makeTempDir({ prefix: "sth-bench-peers-" });
  try {
    // The handler runs as the manifest's ServiceAccount elsewhere (e2e); here the question is
    // speed, so every tool gets the same admin rights.
    const kubeconfigPath = `${home}/handler.kubeconfig`;
    await peers.writeKubeconfig(kubeconfigPath, peers.adminToken);
    const handlerOwner = await createOwner(peers.admin, "kube-system", {
      kind: "DaemonSet",
      name: "spot-termination-handler",
    });
    const cases: PeerCase[] = (options.sizes ?? PEER_SIZES).map((pods) => ({
      pods,
      samples: { ours: [], nth: [], kubectl: [] },
    }));
    let serial = 0;
    for (const c of cases) {
      for (let run = 0; run < options.runs; run++) {
        for (const tool of tools) {
          const name = `bench-${tool}-${c.pods}-${++serial}`;
          const node = await prepareNode(peers, name, { pods: c.pods, handlerOwner });
          const times = await drainOnce(peers, tool, node, { kubeconfigPath, home, logDir });
          const sample = peerSample(times);
          c.samples[tool].push(sample);
          log(
            `  ${tool} ${c.pods} pods: cordon ${Math.round(sample.toCordon ?? NaN)} ms, ` +
              `drained ${Math.round(sample.toDrained ?? NaN)} ms` +
              (sample.toExit !== undefined ? `, exit ${Math.round(sample.toExit)} ms` : ""),
          );
        }
      }
    }
    const idleWindowMs = options.idleWindowMs ?? 60_000;
    log(
      `  idle: ${tools.filter((t) => t !== "kubectl").join(" and ")} for ${idleWindowMs / 1000} s`,
    );
    const idle = await measureIdle(peers, {
      tools: tools.filter((t): t is "ours" | "nth" => t !== "kubectl"),
      kubeconfigPath,
      logDir,
      windowMs: idleWindowMs,
    });
    return { ran: true, versions, missing, cases, idle, idleWindowMs };
  } finally {
    await peers.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}

async function drainOnce(
  peers: Peers,
  tool: PeerTool,
  node: BenchNode,
  options: { kubeconfigPath: string; home: string; logDir: string },
): Promise<PeerRunTimes> {
  const stopWatching = new AbortController();
  const watched = watchNode(peers, node, stopWatching.signal);
  if (tool === "kubectl") {
    const start = Date.now();
    try {
      const exited = await drainWithKubectl(node.name, {
        kubeconfig: peers.adminKubeconfig,
        home: options.home,
      });
      return { start, exited, cordoned: await watched.cordoned, drained: await watched.drained };
    } finally {
      stopWatching.abort();
    }
  }
  const aemm = await startNoticeAemm(peers, 4);
  const logPath = `${options.logDir}/${tool}-${node.name}.log`;
  const running = tool === "ours"
    ? startOurs({ node: node.name, aemm, kubeconfigPath: options.kubeconfigPath, logPath })
    : startNth(peers, { node: node.name, aemm, logPath });
  try {
    const start = await watchServed(aemm, stopWatching.signal);
    if (start === undefined) throw new Error(`AEMM never served the notice for ${tool}`);
    const [cordoned, drained] = await Promise.all([watched.cordoned, watched.drained]);
    if (drained === undefined) {
      throw new Error(
        `${tool} did not drain ${node.name} within the bound; last lines:\n${running.tail()}`,
      );
    }
    return { start, cordoned, drained };
  } finally {
    stopWatching.abort();
    await running.stop();
    await aemm.stop();
  }
}

async function measureIdle(
  peers: Peers,
  options: {
    tools: ("ours" | "nth")[];
    kubeconfigPath: string;
    logDir: string;
    windowMs: number;
  },
): Promise<PeerIdle[]> {
  if (options.tools.length === 0) return [];
  // One AEMM whose notice comes after the window: both handlers poll it the whole time.
  const aemm = await startNoticeAemm(peers, 3600);
  const running: [("ours" | "nth"), Running][] = [];
  try {
    for (const tool of options.tools) {
      const name = `bench-idle-${tool}`;
      await createNode(peers.admin, name);
      const logPath = `${options.logDir}/${tool}-${name}.log`;
      running.push([
        tool,
        tool === "ours"
          ? startOurs({ node: name, aemm, kubeconfigPath: options.kubeconfigPath, logPath })
          : startNth(peers, { node: name, aemm, logPath }),
      ]);
    }
    const ticks = await clockTicksPerSecond();
    const settleMs = 5_000;
    await sleep(settleMs);
    const first: ProcessSample[] = await Promise.all(running.map(([, r]) => sampleProcess(r.pid)));
    await sleep(options.windowMs - settleMs);
    const last: ProcessSample[] = await Promise.all(running.map(([, r]) => sampleProcess(r.pid)));
    return running.map(([tool], i) => ({
      tool,
      rss: last[i].rss,
      cpuPercent: cpuPercent(first[i], last[i], ticks),
    }));
  } finally {
    for (const [, r] of running) await r.stop();
    await aemm.stop();
  }
}
