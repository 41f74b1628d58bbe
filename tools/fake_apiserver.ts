/**
 * A Kubernetes API stand-in over plain HTTP on 127.0.0.1: nodes, pods, evictions (with
 * PodDisruptionBudget refusals), events, and the discovery documents `kubectl drain` needs. The
 * demo, the end-to-end tests, the RBAC checks and the benchmarks run the handler (and kubectl)
 * against it. Every request is recorded with its RBAC verb and resource, so a test can compare
 * what was called with what the ClusterRole grants.
 *
 * This module starts it and seeds it; what it holds is in tools/fake_apiserver_store.ts, how it
 * answers in tools/fake_apiserver_routes.ts (and tools/fake_apiserver_discovery.ts).
 *
 * Run as a script it serves until SIGINT/SIGTERM and prints the kubeconfig it wrote:
 * `deno run --allow-net --allow-write tools/fake_apiserver.ts --port 8001 --pods 110`.
 *
 * @module
 */

import { commandLine, parseToolArgs, untilSignal } from "./cli.ts";
import { handleRequest } from "./fake_apiserver_routes.ts";
import {
  type ApiRequestRecord,
  type FakeEviction,
  type FakeFailure,
  type FakeNodePod,
  FakeStore,
} from "./fake_apiserver_store.ts";

/** Options of {@linkcode startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** Defaults to 0 (any free port). */
  port?: number;
  /** Node names; nodes named by pods are created too. */
  nodes?: string[];
  pods?: FakeNodePod[];
  /** Added before every response, to model a remote API server (benchmarks use 5 and 50 ms). */
  latencyMs?: number;
  /** How long an evicted or deleted pod stays (terminating) before it disappears; default 0. */
  deleteAfterMs?: number;
  failures?: FakeFailure[];
  /** When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
}

/** A running stand-in. */
export interface FakeApiServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request so far, in order; live. */
  readonly requests: ApiRequestRecord[];
  /**
   * Write a kubeconfig for kubectl and client-node (`insecure-skip-tls-verify: true`, since plain
   * HTTP). client-node sends the bearer token over plain HTTP; kubectl does not, so run kubectl
   * against a stand-in without a token.
   */
  writeKubeconfig(path: string, options?: { token?: string }): Promise<void>;
  /** A copy of the stored Node object (undefined when unknown). */
  node(name: string): unknown;
  /** Copies of the stored Pod objects. */
  pods(): unknown[];
  /** Copies of the stored Event objects (core/v1 and events.k8s.io/v1). */
  events(): unknown[];
  evictions(): FakeEviction[];
  /** Add (or replace) a pod, e.g. a controller's replacement with a new UID. */
  addPod(pod: FakeNodePod): void;
  /**
   * Change how many more evictions of a pod its PodDisruptionBudget refuses (0 lets the next one
   * through), as a controller's replacement becoming ready would; throws for an unknown pod.
   */
  setPdbBlocks(namespace: string, name: string, blocks: number): void;
  /**
   * Change a node's `status.nodeInfo.bootID`, as a reboot or a stop/start of its instance does;
   * throws for an unknown node.
   */
  setBootId(node: string, bootId: string): void;
  /** Make matching requests fail from now on. */
  addFailure(failure: FakeFailure): void;
  close(): Promise<void>;
}

/** The handler's own pod in {@linkcode demoPods}. */
export const DEMO_HANDLER_POD: { namespace: string; name: string } = {
  namespace: "kube-system",
  name: "spot-termination-handler-xxxxx",
};

/**
 * A realistic node: three Deployment replicas, a DaemonSet pod, a static (mirror) pod, a pod
 * with emptyDir, a PDB-guarded pod (refused twice), a finished Job pod and the handler's own pod.
 *
 * @example
 * ```ts
 * const api = startFakeApiServer({ pods: demoPods("ip-10-0-1-23.ec2.internal") });
 * ```
 */
export function demoPods(node: string): FakeNodePod[] {
  const rs = "web-5d8f7b9c4d";
  return [
    ...["k2x9p", "m4q7z", "t8w3n"].map((s) => ({
      namespace: "default",
      name: `${rs}-${s}`,
      ownerKind: "ReplicaSet",
      ownerName: rs,
      nodeName: node,
    })),
    {
      namespace: "kube-system",
      name: "kube-proxy-7bq4s",
      ownerKind: "DaemonSet",
      ownerName: "kube-proxy",
      nodeName: node,
    },
    { namespace: "kube-system", name: `static-web-${node}`, mirror: true, nodeName: node },
    {
      namespace: "default",
      name: "cache-0",
      ownerKind: "StatefulSet",
      ownerName: "cache",
      emptyDir: true,
      nodeName: node,
    },
    {
      namespace: "default",
      name: "payments-6c9d8f5b7-r2d2x",
      ownerKind: "ReplicaSet",
      ownerName: "payments-6c9d8f5b7",
      pdbBlocks: 2,
      nodeName: node,
    },
    {
      namespace: "default",
      name: "report-28473921-xk2lp",
      ownerKind: "Job",
      ownerName: "report-28473921",
      phase: "Succeeded",
      nodeName: node,
    },
    {
      ...DEMO_HANDLER_POD,
      ownerKind: "DaemonSet",
      ownerName: "spot-termination-handler",
      nodeName: node,
    },
  ];
}

/**
 * `count` Deployment pods spread over ten ReplicaSets, for benchmarks (110 is the kubelet's
 * default pod limit per node).
 *
 * @example
 * ```ts
 * const api = startFakeApiServer({ pods: manyPods("node-a", 110), latencyMs: 5 });
 * ```
 */
export function manyPods(node: string, count: number): FakeNodePod[] {
  return Array.from({ length: count }, (_, i) => {
    const rs = `load-${i % 10}-7f6d5c4b3a`;
    return {
      namespace: "default",
      name: `${rs}-${String(i).padStart(5, "0")}`,
      ownerKind: "ReplicaSet",
      ownerName: rs,
      nodeName: node,
    };
  });
}

/** The kubeconfig of a stand-in at `url`; `token` = the user's bearer token, none when undefined. */
function kubeconfigText(url: string, token: string | undefined): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: fake",
    "  cluster:",
    `    server: ${JSON.stringify(url)}`,
    "    insecure-skip-tls-verify: true",
    "contexts:",
    "- name: fake",
    "  context:",
    "    cluster: fake",
    "    user: fake",
    "    namespace: default",
    "current-context: fake",
    "users:",
    "- name: fake",
    token === undefined ? "  user: {}" : `  user:\n    token: ${JSON.stringify(token)}`,
    "",
  ].join("\n");
}

/**
 * Start the stand-in on 127.0.0.1.
 *
 * @example
 * ```ts
 * const api = startFakeApiServer({ pods: demoPods("node-a"), deleteAfterMs: 200 });
 * await api.writeKubeconfig("/tmp/kubeconfig");
 * // ... run kubectl or the handler against it ...
 * await api.close();
 * ```
 */
export function startFakeApiServer(options: FakeApiServerOptions = {}): FakeApiServer {
  const store = new FakeStore(options);
  const serve = { latencyMs: options.latencyMs ?? 0, token: options.token };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    (req) => handleRequest(store, serve, req),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    requests: store.requests,
    async writeKubeconfig(path, kubeconfigOptions = {}) {
      const text = kubeconfigText(url, kubeconfigOptions.token ?? options.token);
      await Deno.writeTextFile(path, text, { mode: 0o600 });
    },
    node: (name) => structuredClone(store.nodes.get(name)),
    pods: () => [...store.pods.values()].map((p) => structuredClone(p)),
    events: () => store.events.map((e) => structuredClone(e)),
    evictions: () => store.evictions.map((e) => ({ ...e })),
    addPod: (pod) => store.addPod(pod),
    setPdbBlocks: (namespace, name, blocks) => store.setPdbBlocks(namespace, name, blocks),
    setBootId: (name, bootId) => store.setBootId(name, bootId),
    addFailure: (failure) => store.addFailure(failure),
    async close() {
      store.close();
      await server.shutdown();
    },
  };
}

const USAGE =
  "usage: fake_apiserver.ts [--port N] [--pods N] [--node NAME] [--latency MS] [--delete-after MS] [--kubeconfig PATH] [--token T]";

/** What the script serves, from its command line. */
interface ScriptOptions {
  port: number;
  /** Pods of {@linkcode manyPods}; undefined = {@linkcode demoPods}. */
  podCount?: number;
  node: string;
  latencyMs: number;
  deleteAfterMs: number;
  kubeconfig?: string;
  token?: string;
}

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new TypeError(`--${flag} must be a non-negative integer, got "${value}"`);
  }
  return n;
}

/** The command line as {@linkcode ScriptOptions}; throws a TypeError naming the bad option. */
function scriptOptions(args: string[]): ScriptOptions {
  const { values } = parseToolArgs({
    args,
    options: {
      port: { type: "string" },
      pods: { type: "string" },
      node: { type: "string" },
      latency: { type: "string" },
      "delete-after": { type: "string" },
      kubeconfig: { type: "string" },
      token: { type: "string" },
    },
  });
  return {
    port: count("port", values.port) ?? 0,
    podCount: count("pods", values.pods),
    node: values.node ?? "ip-10-0-1-23.ec2.internal",
    latencyMs: count("latency", values.latency) ?? 0,
    deleteAfterMs: count("delete-after", values["delete-after"]) ?? 0,
    kubeconfig: values.kubeconfig,
    token: values.token,
  };
}

async function main(args: string[]): Promise<number> {
  const options = commandLine("fake_apiserver", USAGE, () => scriptOptions(args));
  if (!options) return 2;
  const { node, podCount } = options;
  const api = startFakeApiServer({
    port: options.port,
    nodes: [node],
    pods: podCount === undefined ? demoPods(node) : manyPods(node, podCount),
    latencyMs: options.latencyMs,
    deleteAfterMs: options.deleteAfterMs,
    token: options.token,
  });
  const kubeconfig = options.kubeconfig ??
    await Deno.makeTempFile({ prefix: "fake-apiserver-", suffix: ".kubeconfig" });
  await api.writeKubeconfig(kubeconfig);
  console.log(`fake API server listening on ${api.url}, node ${node}`);
  console.log(`kubeconfig: ${kubeconfig}`);
  await untilSignal();
  await api.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
