// deno-lint-ignore-file house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * A Kubernetes API stand-in over plain HTTP on 127.0.0.1: nodes, pods, evictions (with
 * PodDisruptionBudget refusals), events, and the discovery documents `kubectl drain` needs. The
 * demo, the end-to-end tests, the RBAC checks and the benchmarks run the handler (and kubectl)
 * against it. Every request is recorded with its RBAC verb and resource, so a test can compare
 * what was called with what the ClusterRole grants.
 *
 * Run as a script it serves until SIGINT/SIGTERM and prints the kubeconfig it wrote:
 * `deno run --allow-net --allow-write tools/fake_apiserver.ts --port 8001 --pods 110`.
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

/** Options of {@linkcode startFakeApiServer}. */
export interface FakeApiServerOptions {
  /** Defaults to 0 (any free port). */
  port?: number;
  /** Node names; nodes named by pods are created too. */
  nodes?: string[];
  pods?: Array<FakePod & { nodeName: string }>;
  /** Added before every response, to model a remote API server (benchmarks use 5 and 50 ms). */
  latencyMs?: number;
  /** How long an evicted or deleted pod stays (terminating) before it disappears; default 0. */
  deleteAfterMs?: number;
  failures?: FakeFailure[];
  /** When set, every request must carry `Authorization: Bearer <token>` (401 otherwise). */
  token?: string;
}

/** A record of one accepted eviction or delete. */
export interface FakeEviction {
  namespace: string;
  name: string;
  gracePeriodSeconds?: number;
  at: number;
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
  addPod(pod: FakePod & { nodeName: string }): void;
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
export function demoPods(node: string): Array<FakePod & { nodeName: string }> {
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
export function manyPods(node: string, count: number): Array<FakePod & { nodeName: string }> {
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

type Obj = Record<string, unknown>;

interface Route {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

class HttpError extends Error {
  status: number;
  reason: string;
  details?: Obj;
  constructor(status: number, reason: string, message: string, details?: Obj) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

const API_GROUPS: Record<string, string[]> = {
  policy: ["v1"],
  "events.k8s.io": ["v1"],
  apps: ["v1"],
};

function resourceEntry(
  name: string,
  kind: string,
  namespaced: boolean,
  verbs: string[],
  extra: Obj = {},
): Obj {
  return { name, singularName: "", namespaced, kind, verbs, ...extra };
}

const RESOURCES: Record<string, Obj[]> = {
  "/v1": [
    resourceEntry("nodes", "Node", false, ["get", "list", "patch", "update", "watch"], {
      shortNames: ["no"],
    }),
    resourceEntry("pods", "Pod", true, ["delete", "get", "list", "patch", "watch"], {
      shortNames: ["po"],
      categories: ["all"],
    }),
    resourceEntry("pods/eviction", "Eviction", true, ["create"], {
      group: "policy",
      version: "v1",
    }),
    resourceEntry("events", "Event", true, ["create", "get", "list", "patch"], {
      shortNames: ["ev"],
    }),
    resourceEntry("namespaces", "Namespace", false, ["get", "list"], { shortNames: ["ns"] }),
  ],
  "policy/v1": [
    resourceEntry("poddisruptionbudgets", "PodDisruptionBudget", true, ["get", "list"], {
      shortNames: ["pdb"],
    }),
  ],
  "events.k8s.io/v1": [
    resourceEntry("events", "Event", true, ["create", "get", "list", "patch"], {
      shortNames: ["ev"],
    }),
  ],
  "apps/v1": [
    resourceEntry("daemonsets", "DaemonSet", true, ["get", "list"], { shortNames: ["ds"] }),
  ],
};

function clone<T>(value: T): T {
  return structuredClone(value);
}

function isPlainObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: Obj = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/**
 * Strategic merge patch, as far as a Node needs it: a merge patch minus `$…` directives. None of
 * the Node fields the handler or kubectl patch has a merge strategy (`spec.taints` is replaced
 * whole: `kubectl taint` sends the complete new list), so lists are replaced.
 */
function strategicPatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: Obj = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    if (value === null) delete result[key];
    else result[key] = strategicPatch(result[key], value);
  }
  return result;
}

function statusBody(status: number, reason: string, message: string, details?: Obj): Obj {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(details ? { details } : {}),
    code: status,
  };
}

const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function parseRoute(segments: string[]): Route | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === "api" && segments[1] === "v1") {
    group = "";
    version = "v1";
    rest = segments.slice(2);
  } else if (segments[0] === "apis" && segments.length >= 3) {
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else return undefined;
  if (rest.length === 0) return undefined;
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) return undefined;
  return { group, version, namespace, resource: rest[0], name: rest[1], subresource: rest[2] };
}

function rbacVerb(method: string, route: Route, query: URLSearchParams): string {
  switch (method) {
    case "GET":
    case "HEAD": {
      if (route.name) return "get";
      const watch = query.get("watch");
      return watch === "true" || watch === "1" ? "watch" : "list";
    }
    case "POST":
      return "create";
    case "PATCH":
      return "patch";
    case "PUT":
      return "update";
    case "DELETE":
      return route.name ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

type FieldFilter = (pod: Obj) => boolean;

function parseFieldSelector(selector: string | null): FieldFilter {
  if (!selector) return () => true;
  const tests: FieldFilter[] = [];
  for (const term of selector.split(",").filter((t) => t !== "")) {
    const m = /^([\w.]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) {
      throw new HttpError(400, "BadRequest", `invalid field selector term "${term}"`);
    }
    const [, field, op, value] = m;
    const get = ({
      "spec.nodeName": (p: Obj) => (p.spec as Obj).nodeName,
      "metadata.name": (p: Obj) => (p.metadata as Obj).name,
      "metadata.namespace": (p: Obj) => (p.metadata as Obj).namespace,
      "status.phase": (p: Obj) => (p.status as Obj).phase,
    } as Record<string, (p: Obj) => unknown>)[field];
    if (!get) {
      throw new HttpError(400, "BadRequest", `field label not supported: ${field}`);
    }
    tests.push(op === "!=" ? (p) => get(p) !== value : (p) => get(p) === value);
  }
  return (p) => tests.every((t) => t(p));
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
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
  const latencyMs = options.latencyMs ?? 0;
  const deleteAfterMs = options.deleteAfterMs ?? 0;
  const token = options.token;
  const failures = (options.failures ?? []).map((f) => ({ ...f, left: f.times ?? 1 }));
  const nodes = new Map<string, Obj>();
  const pods = new Map<string, Obj>();
  const pdbBlocks = new Map<string, number>();
  const events: Obj[] = [];
  const evictions: FakeEviction[] = [];
  const requests: ApiRequestRecord[] = [];
  const removals = new Map<string, ReturnType<typeof setTimeout>>();
  let resourceVersion = 1000;
  const nextVersion = () => String(++resourceVersion);
  const startedAt = new Date().toISOString();

  function ensureNode(name: string): void {
    if (nodes.has(name)) return;
    nodes.set(name, {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name,
        uid: crypto.randomUUID(),
        resourceVersion: nextVersion(),
        creationTimestamp: startedAt,
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
    });
  }

  function addPod(pod: FakePod & { nodeName: string }): void {
    ensureNode(pod.nodeName);
    const metadata: Obj = {
      name: pod.name,
      namespace: pod.namespace,
      uid: pod.uid ?? crypto.randomUUID(),
      resourceVersion: nextVersion(),
      creationTimestamp: startedAt,
      labels: { app: pod.ownerName ?? pod.name },
    };
    if (pod.mirror) {
      metadata.annotations = {
        "kubernetes.io/config.mirror": "3b8e7ac1f6d8c0a2",
        "kubernetes.io/config.source": "file",
      };
      const node = nodes.get(pod.nodeName)!.metadata as Obj;
      metadata.ownerReferences = [
        { apiVersion: "v1", kind: "Node", name: pod.nodeName, uid: node.uid, controller: true },
      ];
    } else if (pod.ownerKind) {
      metadata.ownerReferences = [{
        apiVersion: pod.ownerKind === "Job" ? "batch/v1" : "apps/v1",
        kind: pod.ownerKind,
        name: pod.ownerName ?? pod.name,
        uid: crypto.randomUUID(),
        controller: true,
        blockOwnerDeletion: true,
      }];
    }
    const spec: Obj = {
      nodeName: pod.nodeName,
      containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }],
      terminationGracePeriodSeconds: pod.terminationGracePeriodSeconds ?? 30,
    };
    if (pod.emptyDir) spec.volumes = [{ name: "scratch", emptyDir: {} }];
    const key = podKey(pod.namespace, pod.name);
    const timer = removals.get(key);
    if (timer !== undefined) clearTimeout(timer);
    removals.delete(key);
    pods.set(key, {
      apiVersion: "v1",
      kind: "Pod",
      metadata,
      spec,
      status: { phase: pod.phase ?? "Running", hostIP: "10.0.1.23" },
    });
    if (pod.pdbBlocks) pdbBlocks.set(key, pod.pdbBlocks);
    else pdbBlocks.delete(key);
  }

  for (const name of options.nodes ?? []) ensureNode(name);
  for (const pod of options.pods ?? []) addPod(pod);

  function takeFailure(verb: string, route: Route): FakeFailure | undefined {
    const f = failures.find((f) =>
      f.left > 0 && f.verb === verb && f.resource === route.resource &&
      (f.subresource ?? undefined) === route.subresource &&
      (f.namespace === undefined || f.namespace === route.namespace) &&
      (f.name === undefined || f.name === route.name)
    );
    if (f) f.left--;
    return f;
  }

  function terminate(key: string, pod: Obj, gracePeriodSeconds?: number): void {
    const metadata = pod.metadata as Obj;
    evictions.push({
      namespace: metadata.namespace as string,
      name: metadata.name as string,
      gracePeriodSeconds,
      at: Date.now(),
    });
    if (deleteAfterMs <= 0) {
      pods.delete(key);
      return;
    }
    if (metadata.deletionTimestamp) return;
    metadata.deletionTimestamp = new Date().toISOString();
    metadata.deletionGracePeriodSeconds = gracePeriodSeconds ??
      (pod.spec as Obj).terminationGracePeriodSeconds;
    metadata.resourceVersion = nextVersion();
    removals.set(
      key,
      setTimeout(() => {
        removals.delete(key);
        pods.delete(key);
      }, deleteAfterMs),
    );
  }

  function discovery(segments: string[], host: string): Obj | undefined {
    const path = segments.join("/");
    if (path === "version") {
      return {
        major: "1",
        minor: "32",
        gitVersion: "v1.32.0-fake",
        gitCommit: "0000000000000000000000000000000000000000",
        gitTreeState: "clean",
        buildDate: startedAt,
        goVersion: "go1.23.0",
        compiler: "gc",
        platform: "linux/amd64",
      };
    }
    if (path === "api") {
      return {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
      };
    }
    if (path === "apis") {
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: Object.entries(API_GROUPS).map(([name, versions]) => ({
          name,
          versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
          preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
        })),
      };
    }
    const key = path === "api/v1" ? "/v1" : path.startsWith("apis/") ? path.slice(5) : "";
    const resources = RESOURCES[key];
    if (resources && segments.length === (key === "/v1" ? 2 : 3)) {
      return {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: key === "/v1" ? "v1" : key,
        resources,
      };
    }
    return undefined;
  }

  function readJson(text: string): Obj {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, "BadRequest", "request body is not valid JSON");
    }
    if (!isPlainObject(body)) {
      throw new HttpError(400, "BadRequest", "request body must be a JSON object");
    }
    return body;
  }

  function getPod(route: Route): [string, Obj] {
    if (!route.namespace || !route.name) {
      throw new HttpError(404, "NotFound", "the server could not find the requested resource");
    }
    const key = podKey(route.namespace, route.name);
    const pod = pods.get(key);
    if (!pod) {
      throw new HttpError(404, "NotFound", `pods "${route.name}" not found`, {
        name: route.name,
        kind: "pods",
      });
    }
    return [key, pod];
  }

  /**
   * Answer a SelfSubjectAccessReview the way the injected failures will: a verb whose requests
   * are set to fail with 403 for good (`times: Infinity`) is denied, everything else allowed.
   */
  function accessReview(review: Obj): Obj {
    const attrs = ((review.spec as Obj | undefined)?.resourceAttributes ?? {}) as Obj;
    const denied = failures.some((f) =>
      f.status === 403 && f.left === Infinity && f.verb === attrs.verb &&
      f.resource === attrs.resource && (f.subresource ?? "") === (attrs.subresource ?? "")
    );
    return {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: review.spec ?? {},
      status: denied
        ? { allowed: false, reason: "injected 403 for this verb" }
        : { allowed: true, reason: "stand-in allows it" },
    };
  }

  function handleResource(
    req: Request,
    text: string,
    route: Route,
    verb: string,
    query: URLSearchParams,
  ): Response {
    const r = `${route.group}/${route.resource}${route.subresource ? "/" + route.subresource : ""}`;
    if (r === "authorization.k8s.io/selfsubjectaccessreviews" && verb === "create") {
      return json(201, accessReview(readJson(text)));
    }
    if (r === "/nodes" && !route.namespace) {
      if (verb === "list") {
        return json(200, {
          kind: "NodeList",
          apiVersion: "v1",
          metadata: { resourceVersion: String(resourceVersion) },
          items: [...nodes.values()],
        });
      }
      const node = route.name ? nodes.get(route.name) : undefined;
      if (!node) {
        throw new HttpError(404, "NotFound", `nodes "${route.name}" not found`, {
          name: route.name,
          kind: "nodes",
        });
      }
      if (verb === "get") return json(200, node);
      if (verb === "patch") {
        const type = (req.headers.get("content-type") ?? "").split(";")[0].trim();
        let next: Obj;
        if (type === "application/merge-patch+json") next = mergePatch(node, readJson(text)) as Obj;
        else if (type === "application/strategic-merge-patch+json") {
          next = strategicPatch(node, readJson(text)) as Obj;
        } else {
          throw new HttpError(
            415,
            "UnsupportedMediaType",
            `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got "${type}")`,
          );
        }
        (next.metadata as Obj).name = route.name;
        (next.metadata as Obj).resourceVersion = nextVersion();
        nodes.set(route.name!, next);
        return json(200, next);
      }
    }
    if (r === "/pods") {
      if (verb === "list") {
        const filter = parseFieldSelector(query.get("fieldSelector"));
        const items = [...pods.values()].filter((p) =>
          (!route.namespace || (p.metadata as Obj).namespace === route.namespace) && filter(p)
        );
        return json(200, {
          kind: "PodList",
          apiVersion: "v1",
          metadata: { resourceVersion: String(resourceVersion) },
          items,
        });
      }
      if (verb === "get") return json(200, getPod(route)[1]);
      if (verb === "delete") {
        const [key, pod] = getPod(route);
        let grace = query.has("gracePeriodSeconds")
          ? Number(query.get("gracePeriodSeconds"))
          : undefined;
        if (text.trim() !== "") {
          try {
            const body = JSON.parse(text) as Obj;
            if (typeof body.gracePeriodSeconds === "number") grace = body.gracePeriodSeconds;
          } catch {
            throw new HttpError(400, "BadRequest", "request body is not valid JSON");
          }
        }
        terminate(key, pod, grace);
        return json(200, pod);
      }
    }
    if (r === "/pods/eviction" && verb === "create") {
      const [key, pod] = getPod(route);
      const body = readJson(text);
      const meta = isPlainObject(body.metadata) ? body.metadata : {};
      if (meta.name !== undefined && meta.name !== route.name) {
        throw new HttpError(
          400,
          "BadRequest",
          `name in URL does not match name in Eviction object (${String(meta.name)})`,
        );
      }
      if (body.kind !== undefined && body.kind !== "Eviction") {
        throw new HttpError(400, "BadRequest", `expected kind Eviction, got ${String(body.kind)}`);
      }
      const left = pdbBlocks.get(key) ?? 0;
      if (left > 0 && !(pod.metadata as Obj).deletionTimestamp) {
        pdbBlocks.set(key, left - 1);
        throw new HttpError(
          429,
          "TooManyRequests",
          "Cannot evict pod as it would violate the pod's disruption budget.",
          {
            causes: [{
              reason: "DisruptionBudget",
              message: `The disruption budget ${
                (pod.metadata as Obj).labels
                  ? ((pod.metadata as Obj).labels as Obj).app
                  : route.name
              } needs 1 healthy pods and has 1 currently`,
            }],
          },
        );
      }
      const options = isPlainObject(body.deleteOptions) ? body.deleteOptions : {};
      const grace = typeof options.gracePeriodSeconds === "number"
        ? options.gracePeriodSeconds
        : undefined;
      terminate(key, pod, grace);
      return json(201, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Success",
        code: 201,
      });
    }
    if (r === "apps/daemonsets" && verb === "get" && route.namespace && route.name) {
      const owner = [...pods.values()].find((p) => {
        const m = p.metadata as Obj;
        const refs = (m.ownerReferences ?? []) as Obj[];
        return m.namespace === route.namespace &&
          refs.some((o) => o.kind === "DaemonSet" && o.name === route.name);
      });
      if (!owner) {
        throw new HttpError(404, "NotFound", `daemonsets.apps "${route.name}" not found`);
      }
      return json(200, {
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: route.name, namespace: route.namespace, uid: crypto.randomUUID() },
        spec: { selector: { matchLabels: { app: route.name } } },
        status: {},
      });
    }
    if ((r === "/events" || r === "events.k8s.io/events") && route.namespace) {
      if (verb === "create") {
        const body = readJson(text);
        const meta: Obj = isPlainObject(body.metadata) ? { ...body.metadata } : {};
        if (!meta.name) {
          if (!meta.generateName) {
            throw new HttpError(422, "Invalid", "Event.metadata.name: Required value");
          }
          meta.name = `${meta.generateName}${crypto.randomUUID().slice(0, 5)}`;
        }
        if (meta.namespace !== undefined && meta.namespace !== route.namespace) {
          throw new HttpError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
          );
        }
        const event: Obj = {
          ...body,
          metadata: {
            ...meta,
            namespace: route.namespace,
            uid: crypto.randomUUID(),
            resourceVersion: nextVersion(),
            creationTimestamp: new Date().toISOString(),
          },
        };
        events.push(event);
        return json(201, event);
      }
      if (verb === "list") {
        return json(200, {
          kind: "EventList",
          apiVersion: route.group ? `${route.group}/${route.version}` : "v1",
          metadata: {},
          items: events.filter((e) => (e.metadata as Obj).namespace === route.namespace),
        });
      }
      const at = events.findIndex((e) => {
        const m = e.metadata as Obj;
        return m.namespace === route.namespace && m.name === route.name;
      });
      if (at < 0) {
        throw new HttpError(404, "NotFound", `events "${route.name}" not found`);
      }
      if (verb === "get") return json(200, events[at]);
      if (verb === "patch") {
        events[at] = mergePatch(events[at], readJson(text)) as Obj;
        return json(200, events[at]);
      }
    }
    if (r === "/namespaces" && verb === "get" && route.name) {
      return json(200, {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: route.name },
        status: { phase: "Active" },
      });
    }
    const known = RESOURCES[route.group ? `${route.group}/${route.version}` : "/v1"] ?? [];
    const full = route.subresource ? `${route.resource}/${route.subresource}` : route.resource;
    if (!known.some((k) => k.name === full)) {
      throw new HttpError(404, "NotFound", "the server could not find the requested resource");
    }
    throw new HttpError(
      405,
      "MethodNotAllowed",
      `${verb} is not supported on ${r.replace(/^\//, "")} by this stand-in`,
    );
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const segments = url.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
    const route = parseRoute(segments);
    const record: ApiRequestRecord = {
      method: req.method,
      path: url.pathname + url.search,
      verb: route ? rbacVerb(req.method, route, url.searchParams) : req.method.toLowerCase(),
      group: route?.group ?? "",
      resource: route?.resource ?? "",
      status: 0,
      at: 0,
    };
    if (route) {
      if (route.subresource) record.subresource = route.subresource;
      if (route.namespace) record.namespace = route.namespace;
      if (route.name) record.name = route.name;
    } else record.nonResource = true;
    const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
    if (text !== "") {
      record.body = text;
      const type = req.headers.get("content-type");
      if (type) record.contentType = type;
    }
    let response: Response;
    try {
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      if (token !== undefined && req.headers.get("authorization") !== `Bearer ${token}`) {
        throw new HttpError(401, "Unauthorized", "Unauthorized");
      }
      if (!route) {
        const doc = req.method === "GET" ? discovery(segments, url.host) : undefined;
        if (!doc) {
          throw new HttpError(404, "NotFound", "the server could not find the requested resource");
        }
        response = json(200, doc);
      } else {
        const failure = takeFailure(record.verb, route);
        if (failure) {
          throw new HttpError(
            failure.status,
            REASONS[failure.status] ?? "Unknown",
            failure.message ??
              `injected failure ${failure.status} for ${record.verb} ${route.resource}`,
          );
        }
        response = handleResource(req, text, route, record.verb, url.searchParams);
      }
    } catch (error) {
      if (error instanceof HttpError) {
        response = json(
          error.status,
          statusBody(error.status, error.reason, error.message, error.details),
        );
      } else {
        response = json(500, statusBody(500, "InternalError", String(error)));
      }
    }
    record.status = response.status;
    record.at = Date.now();
    requests.push(record);
    return response;
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handle,
  );
  const url = `http://127.0.0.1:${server.addr.port}`;

  return {
    url,
    requests,
    async writeKubeconfig(path, kubeconfigOptions = {}) {
      const userToken = kubeconfigOptions.token ?? token;
      const lines = [
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
        userToken === undefined ? "  user: {}" : `  user:\n    token: ${JSON.stringify(userToken)}`,
        "",
      ];
      await Deno.writeTextFile(path, lines.join("\n"), { mode: 0o600 });
    },
    node: (name) => clone(nodes.get(name)),
    pods: () => [...pods.values()].map(clone),
    events: () => events.map(clone),
    evictions: () => evictions.map((e) => ({ ...e })),
    addPod,
    setPdbBlocks(namespace, name, blocks) {
      const key = podKey(namespace, name);
      if (!pods.has(key)) throw new RangeError(`setPdbBlocks: no pod ${key}`);
      if (!(blocks >= 0)) throw new RangeError(`setPdbBlocks: blocks must be >= 0, got ${blocks}`);
      if (blocks > 0) pdbBlocks.set(key, blocks);
      else pdbBlocks.delete(key);
    },
    setBootId(name, bootId) {
      const node = nodes.get(name);
      if (!node) throw new RangeError(`setBootId: no node ${name}`);
      ((node.status as Obj).nodeInfo as Obj).bootID = bootId;
      (node.metadata as Obj).resourceVersion = nextVersion();
    },
    addFailure(failure) {
      failures.push({ ...failure, left: failure.times ?? 1 });
    },
    async close() {
      for (const timer of removals.values()) clearTimeout(timer);
      removals.clear();
      await server.shutdown();
    },
  };
}

function parseArgs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) throw new TypeError(`unexpected argument "${args[i]}"`);
    out[m[1]] = m[2] ?? args[++i] ?? "";
  }
  return out;
}

function numberArg(args: Record<string, string>, name: string, fallback: number): number {
  if (args[name] === undefined) return fallback;
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`--${name} must be a non-negative integer, got "${args[name]}"`);
  }
  return value;
}

async function runScript(): Promise<void> {
  const known = ["port", "pods", "node", "latency", "delete-after", "kubeconfig", "token"];
  let args: Record<string, string>;
  let port: number, podCount: number, latencyMs: number, deleteAfterMs: number;
  try {
    args = parseArgs(Deno.args);
    const unknown = Object.keys(args).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new TypeError(`unknown option --${unknown[0]}`);
    port = numberArg(args, "port", 0);
    podCount = numberArg(args, "pods", -1);
    latencyMs = numberArg(args, "latency", 0);
    deleteAfterMs = numberArg(args, "delete-after", 0);
  } catch (error) {
    console.error(`fake_apiserver: ${(error as Error).message}`);
    console.error(
      "usage: fake_apiserver.ts [--port N] [--pods N] [--node NAME] [--latency MS] [--delete-after MS] [--kubeconfig PATH] [--token T]",
    );
    Deno.exit(2);
  }
  const node = args.node ?? "ip-10-0-1-23.ec2.internal";
  const api = startFakeApiServer({
    port,
    nodes: [node],
    pods: podCount >= 0 ? manyPods(node, podCount) : demoPods(node),
    latencyMs,
    deleteAfterMs,
    token: args.token,
  });
  const kubeconfig = args.kubeconfig ??
    await Deno.makeTempFile({ prefix: "fake-apiserver-", suffix: ".kubeconfig" });
  await api.writeKubeconfig(kubeconfig);
  console.log(`fake API server listening on ${api.url}, node ${node}`);
  console.log(`kubeconfig: ${kubeconfig}`);
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", stop.resolve);
  Deno.addSignalListener("SIGTERM", stop.resolve);
  await stop.promise;
  await api.close();
}

if (import.meta.main) await runScript();
