/**
 * What the Kubernetes API stand-in (tools/fake_apiserver.ts) holds: nodes, pods, events,
 * evictions, the request log, PodDisruptionBudget refusals, injected failures, pending pod
 * removals and the resourceVersion counter. No HTTP here: tools/fake_apiserver_routes.ts reads
 * and changes this state for each request.
 *
 * @module
 */

/** A pod to seed the stand-in with. */
export interface FakePod {
  namespace: string;
  name: string;
  uid?: string;
  /** Controller kind, e.g. `ReplicaSet`, `DaemonSet`, `StatefulSet`, `Job`; absent = bare pod. */
  ownerKind?: string;
  ownerName?: string;
  /** A static pod's mirror (annotation `kubernetes.io/config.mirror`). */
  mirror?: boolean;
  emptyDir?: boolean;
  /** Defaults to `Running`. */
  phase?: string;
  /** Defaults to 30, as in Kubernetes. */
  terminationGracePeriodSeconds?: number;
  /** How many evictions a PodDisruptionBudget refuses (429) before one is allowed; `Infinity` = always. */
  pdbBlocks?: number;
}

/** A {@linkcode FakePod} placed on a node. */
export type FakeNodePod = FakePod & { nodeName: string };

/** One request as the API server's authorizer would see it. */
export interface ApiRequestRecord {
  method: string;
  /** Path with the query string. */
  path: string;
  /** RBAC verb: get, list, watch, create, patch, update, delete, deletecollection. */
  verb: string;
  /** API group: `""` core, `"policy"`, `"events.k8s.io"`, `"apps"`. */
  group: string;
  /** Resource, e.g. `pods`; `""` for non-resource URLs such as `/version` and discovery. */
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** True for non-resource URLs (discovery, `/version`), which RBAC authorizes separately. */
  nonResource?: boolean;
  /** Request `Content-Type`, for writes. */
  contentType?: string;
  /** Request body as sent, for writes. */
  body?: string;
  status: number;
  /** `Date.now()` when the response was produced. */
  at: number;
}

/** Make matching requests fail with `status`, e.g. patch node 500 twice. */
export interface FakeFailure {
  /** RBAC verb, e.g. `patch`, `create`, `get`, `list`. */
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  status: number;
  /** How many matching requests fail; default 1, `Infinity` = all. */
  times?: number;
  message?: string;
}

/** A record of one accepted eviction or delete. */
export interface FakeEviction {
  namespace: string;
  name: string;
  gracePeriodSeconds?: number;
  at: number;
}

/** A Kubernetes object as JSON. */
export type Obj = Record<string, unknown>;

/** The resource a request names, for matching it against injected failures. */
export interface ResourceTarget {
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** What {@linkcode FakeStore} starts with. */
export interface FakeStoreOptions {
  nodes?: string[];
  pods?: FakeNodePod[];
  /** How long an evicted or deleted pod stays (terminating) before it disappears; default 0. */
  deleteAfterMs?: number;
  failures?: FakeFailure[];
}

/** The pods map's key. */
export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function nodeObject(name: string, resourceVersion: string, createdAt: string): Obj {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: crypto.randomUUID(),
      resourceVersion,
      creationTimestamp: createdAt,
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "m5.large",
        "topology.kubernetes.io/zone": "us-east-1a",
        "eks.amazonaws.com/capacityType": "SPOT",
      },
      annotations: {},
    },
    spec: { providerID: "aws:///us-east-1a/i-0123456789abcdef0" },
    status: {
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }],
      nodeInfo: {
        kubeletVersion: "v1.32.0",
        architecture: "amd64",
        operatingSystem: "linux",
        bootID: crypto.randomUUID(),
      },
    },
  };
}

/** A mirror pod is owned by its Node; any other controller by an object of `ownerKind`. */
function ownerReferences(pod: FakeNodePod, nodeUid: unknown): Obj[] | undefined {
  if (pod.mirror) {
    return [{ apiVersion: "v1", kind: "Node", name: pod.nodeName, uid: nodeUid, controller: true }];
  }
  if (!pod.ownerKind) return undefined;
  return [{
    apiVersion: pod.ownerKind === "Job" ? "batch/v1" : "apps/v1",
    kind: pod.ownerKind,
    name: pod.ownerName ?? pod.name,
    uid: crypto.randomUUID(),
    controller: true,
    blockOwnerDeletion: true,
  }];
}

function podObject(
  pod: FakeNodePod,
  nodeUid: unknown,
  resourceVersion: string,
  createdAt: string,
): Obj {
  const metadata: Obj = {
    name: pod.name,
    namespace: pod.namespace,
    uid: pod.uid ?? crypto.randomUUID(),
    resourceVersion,
    creationTimestamp: createdAt,
    labels: { app: pod.ownerName ?? pod.name },
  };
  if (pod.mirror) {
    metadata.annotations = {
      "kubernetes.io/config.mirror": "3b8e7ac1f6d8c0a2",
      "kubernetes.io/config.source": "file",
    };
  }
  const owners = ownerReferences(pod, nodeUid);
  if (owners) metadata.ownerReferences = owners;
  const spec: Obj = {
    nodeName: pod.nodeName,
    containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }],
    terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
  };
  if (pod.emptyDir) spec.volumes = [{ name: "scratch", emptyDir: {} }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata,
    spec,
    status: { phase: pod.phase ?? "Running", hostIP: "10.0.1.23" },
  };
}

/** The stand-in's objects and the state of its fault injection. */
export class FakeStore {
  readonly nodes: Map<string, Obj> = new Map();
  /** By {@linkcode podKey}. */
  readonly pods: Map<string, Obj> = new Map();
  /** Evictions each pod's budget still refuses, by {@linkcode podKey}. */
  readonly pdbBlocks: Map<string, number> = new Map();
  readonly events: Obj[] = [];
  readonly evictions: FakeEviction[] = [];
  /** Every request so far, in order. */
  readonly requests: ApiRequestRecord[] = [];
  /** Injected failures with how many more requests each fails. */
  readonly failures: Array<FakeFailure & { left: number }> = [];
  /** When the stand-in started: every seeded object's creationTimestamp. */
  readonly startedAt: string = new Date().toISOString();
  readonly #deleteAfterMs: number;
  readonly #removals = new Map<string, ReturnType<typeof setTimeout>>();
  #resourceVersion = 1000;

  constructor(options: FakeStoreOptions = {}) {
    this.#deleteAfterMs = options.deleteAfterMs ?? 0;
    for (const failure of options.failures ?? []) this.addFailure(failure);
    for (const name of options.nodes ?? []) this.ensureNode(name);
    for (const pod of options.pods ?? []) this.addPod(pod);
  }

  /** The current resourceVersion, as lists report it. */
  get resourceVersion(): string {
    return String(this.#resourceVersion);
  }

  /** A new resourceVersion for an object that changes. */
  nextVersion(): string {
    return String(++this.#resourceVersion);
  }

  /** Create the node unless it exists. */
  ensureNode(name: string): void {
    if (this.nodes.has(name)) return;
    this.nodes.set(name, nodeObject(name, this.nextVersion(), this.startedAt));
  }

  /** Add (or replace) a pod, creating its node when needed. */
  addPod(pod: FakeNodePod): void {
    this.ensureNode(pod.nodeName);
    const nodeUid = (this.nodes.get(pod.nodeName)!.metadata as Obj).uid;
    const key = podKey(pod.namespace, pod.name);
    this.#cancelRemoval(key);
    this.pods.set(key, podObject(pod, nodeUid, this.nextVersion(), this.startedAt));
    if (pod.pdbBlocks) this.pdbBlocks.set(key, pod.pdbBlocks);
    else this.pdbBlocks.delete(key);
  }

  /** Change how many more evictions of a pod its budget refuses; throws for an unknown pod. */
  setPdbBlocks(namespace: string, name: string, blocks: number): void {
    const key = podKey(namespace, name);
    if (!this.pods.has(key)) throw new RangeError(`setPdbBlocks: no pod ${key}`);
    if (!(blocks >= 0)) throw new RangeError(`setPdbBlocks: blocks must be >= 0, got ${blocks}`);
    if (blocks > 0) this.pdbBlocks.set(key, blocks);
    else this.pdbBlocks.delete(key);
  }

  /** Change a node's `status.nodeInfo.bootID`; throws for an unknown node. */
  setBootId(name: string, bootId: string): void {
    const node = this.nodes.get(name);
    if (!node) throw new RangeError(`setBootId: no node ${name}`);
    ((node.status as Obj).nodeInfo as Obj).bootID = bootId;
    (node.metadata as Obj).resourceVersion = this.nextVersion();
  }

  /** Make matching requests fail from now on. */
  addFailure(failure: FakeFailure): void {
    this.failures.push({ ...failure, left: failure.times ?? 1 });
  }

  /** The first injected failure matching the request, counted as used; undefined when none. */
  takeFailure(verb: string, target: ResourceTarget): FakeFailure | undefined {
    const f = this.failures.find((f) =>
      f.left > 0 && f.verb === verb && f.resource === target.resource &&
      (f.subresource ?? undefined) === target.subresource &&
      (f.namespace === undefined || f.namespace === target.namespace) &&
      (f.name === undefined || f.name === target.name)
    );
    if (f) f.left--;
    return f;
  }

  /** Whether every request of `verb` on the resource is set to fail with 403 for good. */
  deniedForGood(verb: unknown, resource: unknown, subresource: unknown): boolean {
    return this.failures.some((f) =>
      f.status === 403 && f.left === Infinity && f.verb === verb &&
      f.resource === resource && (f.subresource ?? "") === (subresource ?? "")
    );
  }

  /**
   * Record an accepted eviction or delete; the pod goes at once, or stays terminating for
   * `deleteAfterMs` with its deletionTimestamp set.
   */
  terminate(key: string, pod: Obj, gracePeriodSeconds?: number): void {
    const metadata = pod.metadata as Obj;
    this.evictions.push({
      namespace: metadata.namespace as string,
      name: metadata.name as string,
      gracePeriodSeconds,
      at: Date.now(),
    });
    if (this.#deleteAfterMs <= 0) {
      this.pods.delete(key);
      return;
    }
    if (metadata.deletionTimestamp) return;
    metadata.deletionTimestamp = new Date().toISOString();
    metadata.deletionGracePeriodSeconds = gracePeriodSeconds ??
      (pod.spec as Obj).terminationGracePeriodSeconds;
    metadata.resourceVersion = this.nextVersion();
    this.#removals.set(
      key,
      setTimeout(() => {
        this.#removals.delete(key);
        this.pods.delete(key);
      }, this.#deleteAfterMs),
    );
  }

  /** Drop every pending removal, so no timer outlives the stand-in. */
  close(): void {
    for (const timer of this.#removals.values()) clearTimeout(timer);
    this.#removals.clear();
  }

  #cancelRemoval(key: string): void {
    const timer = this.#removals.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.#removals.delete(key);
  }
}
