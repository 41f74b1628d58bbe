/**
 * Kubernetes objects the scenarios put on the real API server: kwok-managed nodes, pods owned by
 * ReplicaSets or DaemonSets (no controllers run for those, so the pods are created here and
 * bound with `spec.nodeName`), and PodDisruptionBudgets.
 *
 * @module
 */

import type { KubeApi } from "../../tools/peers/kube_api.ts";
import { KWOK_NODE_ANNOTATION } from "../../tools/peers/peers.ts";
import { waitFor } from "./harness.ts";

type Obj = Record<string, unknown>;

/** The parts of a Pod the scenarios look at. */
export interface PodState {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** The parts of a Node the scenarios look at. */
export interface NodeState {
  metadata: {
    name: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
  status?: { conditions?: { type: string; status: string }[]; nodeInfo?: { bootID?: string } };
}

/** A controller object (ReplicaSet, DaemonSet) pods can point at. */
export interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

const podPath = (namespace: string, name = "") =>
  `/api/v1/namespaces/${namespace}/pods${name ? `/${name}` : ""}`;

/**
 * Create a namespace (fine if it exists).
 *
 * @example
 * ```ts
 * await createNamespace(api, "e2e-spot");
 * ```
 */
export async function createNamespace(api: KubeApi, name: string): Promise<void> {
  await api.ensure("/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name },
  });
}

/**
 * Create a node that kwok simulates and wait (bounded) until kwok reports it Ready.
 *
 * @example
 * ```ts
 * await createNode(api, "spot-node");
 * ```
 */
export async function createNode(api: KubeApi, name: string): Promise<void> {
  await api.create("/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: "fake" },
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", type: "kwok" },
    },
    spec: {},
  });
  await waitFor(`node ${name} Ready (kwok)`, async () => {
    const node = await api.get<NodeState>(`/api/v1/nodes/${name}`);
    return node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
  }, { timeoutMs: 30_000 });
}

/**
 * Create a ReplicaSet or DaemonSet object for pods to be owned by. No controller acts on it.
 *
 * @example
 * ```ts
 * const web = await createOwner(api, "e2e-spot", { kind: "ReplicaSet", name: "web", replicas: 2 });
 * ```
 */
export async function createOwner(
  api: KubeApi,
  namespace: string,
  options: { kind: "ReplicaSet" | "DaemonSet"; name: string; replicas?: number },
): Promise<Owner> {
  const labels = { app: options.name };
  const resource = options.kind === "ReplicaSet" ? "replicasets" : "daemonsets";
  const spec: Obj = {
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: { containers: [{ name: "app", image: "registry.invalid/e2e:1" }] },
    },
  };
  if (options.kind === "ReplicaSet") spec.replicas = options.replicas ?? 1;
  const created = await api.create<{ metadata: { uid: string } }>(
    `/apis/apps/v1/namespaces/${namespace}/${resource}`,
    { apiVersion: "apps/v1", kind: options.kind, metadata: { name: options.name, labels }, spec },
  );
  return {
    apiVersion: "apps/v1",
    kind: options.kind,
    name: options.name,
    uid: created.metadata.uid,
  };
}

/**
 * Create a pod bound to `node`, owned by `owner`, labelled `app=<owner name>`.
 *
 * @example
 * ```ts
 * await createPod(api, "e2e-spot", { name: "web-0", node: "spot-node", owner: web });
 * ```
 */
export async function createPod(
  api: KubeApi,
  namespace: string,
  options: { name: string; node: string; owner: Owner },
): Promise<void> {
  await api.create(podPath(namespace), {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: options.name,
      labels: { app: options.owner.name },
      ownerReferences: [{ ...options.owner, controller: true, blockOwnerDeletion: false }],
    },
    spec: {
      nodeName: options.node,
      terminationGracePeriodSeconds: 30,
      containers: [{ name: "app", image: "registry.invalid/e2e:1" }],
    },
  });
}

/**
 * Wait (bounded) until every named pod is Ready, as kwok reports it.
 *
 * @example
 * ```ts
 * await waitPodsReady(api, "e2e-spot", ["web-0", "web-1"]);
 * ```
 */
export async function waitPodsReady(
  api: KubeApi,
  namespace: string,
  names: string[],
): Promise<void> {
  for (const name of names) {
    await waitFor(`pod ${namespace}/${name} Ready (kwok)`, async () => {
      const pod = await api.get<PodState>(podPath(namespace, name));
      return pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    }, { timeoutMs: 30_000 });
  }
}

/**
 * Get a pod; `undefined` when it is gone.
 *
 * @example
 * ```ts
 * const pod = await getPod(api, "e2e-spot", "web-0");
 * ```
 */
export function getPod(
  api: KubeApi,
  namespace: string,
  name: string,
): Promise<PodState | undefined> {
  return api.get<PodState>(podPath(namespace, name));
}

/**
 * Wait (bounded) until a pod no longer exists.
 *
 * @example
 * ```ts
 * await waitPodGone(api, "e2e-spot", "worker-0", { timeoutMs: 30_000 });
 * ```
 */
export async function waitPodGone(
  api: KubeApi,
  namespace: string,
  options: { name: string; timeoutMs: number },
): Promise<void> {
  await waitFor(
    `pod ${namespace}/${options.name} to be gone`,
    async () => (await getPod(api, namespace, options.name)) === undefined,
    { timeoutMs: options.timeoutMs },
  );
}

/** What the scenarios read of a PodDisruptionBudget's status. */
export interface PdbStatus {
  currentHealthy?: number;
  disruptionsAllowed?: number;
  observedGeneration?: number;
}

/**
 * Create a PodDisruptionBudget over `app=<app>` with an integer `minAvailable`, then wait
 * (bounded) until the disruption controller reports `disruptionsAllowed` as expected.
 *
 * @example
 * ```ts
 * await createPdb(api, "e2e-spot", { app: "web", minAvailable: 1, expectAllowed: 1 });
 * ```
 */
export async function createPdb(
  api: KubeApi,
  namespace: string,
  options: { app: string; minAvailable: number; expectAllowed: number },
): Promise<void> {
  const path = `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`;
  await api.create(path, {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name: options.app },
    spec: { minAvailable: options.minAvailable, selector: { matchLabels: { app: options.app } } },
  });
  await waitPdbAllows(api, namespace, { app: options.app, allowed: options.expectAllowed });
}

/**
 * Wait (bounded) until the PodDisruptionBudget named `app` allows exactly `allowed` disruptions.
 *
 * @example
 * ```ts
 * await waitPdbAllows(api, "e2e-restart", { app: "db", allowed: 1 });
 * ```
 */
export async function waitPdbAllows(
  api: KubeApi,
  namespace: string,
  options: { app: string; allowed: number },
): Promise<void> {
  const path = `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/${options.app}`;
  let last: PdbStatus | undefined;
  await waitFor(
    `PodDisruptionBudget ${namespace}/${options.app} to allow ${options.allowed} disruption(s)`,
    async () => {
      const pdb = await api.get<{ metadata: { generation?: number }; status?: PdbStatus }>(path);
      last = pdb?.status;
      return pdb?.status?.observedGeneration === pdb?.metadata.generation &&
        pdb?.status?.disruptionsAllowed === options.allowed;
    },
    { timeoutMs: 45_000, describe: () => `last status: ${JSON.stringify(last)}` },
  );
}
