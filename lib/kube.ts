// deno-lint-ignore-file house/max-file-lines house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * The few Kubernetes calls the handler makes, behind a small interface so the drain and the
 * handler are tested against in-process fakes. The real implementation wraps
 * `@kubernetes/client-node`, imported lazily: loading it costs ~0.6 s and ~90 MiB (docs/design.md),
 * which an idle handler should not pay until the first notice.
 *
 * @module
 */

import type { ConfigurationOptions, ObservableMiddleware } from "@kubernetes/client-node";
import type { Logger } from "./log.ts";
import { type AccessAnswer, type AccessCheck, accessReviewBody } from "./kube_http.ts";
import { HTTP_REASONS, kindOfStatus, KubeError } from "./kube_errors.ts";

/** A pod by name. */
export interface PodRef {
  namespace: string;
  name: string;
}

/** What the drain needs to know about a pod. */
export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  nodeName?: string;
  phase?: string;
  /** Kinds of the pod's owners, e.g. `["ReplicaSet"]`, `["DaemonSet"]`. */
  ownerKinds: string[];
  /** A static pod's mirror (annotation `kubernetes.io/config.mirror`); the API cannot delete it. */
  isMirror: boolean;
  hasEmptyDir: boolean;
  terminationGracePeriodSeconds?: number;
  /** RFC 3339; set while the pod is terminating. */
  deletionTimestamp?: string;
}

/** A node taint. */
export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** What the handler needs to know about a node. */
export interface NodeInfo {
  name: string;
  unschedulable: boolean;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  taints: Taint[];
  /** `status.nodeInfo.bootID`: changes when the machine reboots or is replaced. */
  bootId?: string;
}

/** A JSON merge patch of a node; a `null` annotation or label removes it. */
export interface NodePatch {
  unschedulable?: boolean;
  annotations?: Record<string, string | null>;
  labels?: Record<string, string | null>;
  taints?: Taint[];
}

/** How one eviction request ended. Only transport-level surprises are thrown. */
export type EvictionOutcome =
  | { status: "evicted" }
  | { status: "gone" }
  | { status: "blocked"; code: 429; message: string }
  | { status: "retryable"; code: number; message: string }
  | { status: "failed"; code: number; message: string };

/** The Kubernetes operations of the handler; RBAC grants exactly these. */
export interface Kube {
  getNode(name: string): Promise<NodeInfo>;
  /** JSON merge patch of the node. An annotation value `null` removes it; `taints` replaces the list (the caller merges). */
  patchNode(name: string, patch: NodePatch): Promise<void>;
  /** `null` when the pod does not exist. */
  getPod(ref: PodRef): Promise<PodInfo | null>;
  /** Pods of all namespaces bound to `node`, by field selector `spec.nodeName`. */
  listPodsOnNode(node: string): Promise<PodInfo[]>;
  /** policy/v1 Eviction. HTTP errors become outcomes, never exceptions. */
  evictPod(ref: PodRef, options?: { gracePeriodSeconds?: number }): Promise<EvictionOutcome>;
  /** A core/v1 Event in namespace `default` about the Node, visible in `kubectl describe node`. */
  createNodeEvent(
    node: string,
    event: { reason: string; message: string; type: "Normal" | "Warning" },
  ): Promise<void>;
  /** SelfSubjectAccessReview: may the handler's identity do this? */
  canI(check: AccessCheck): Promise<AccessAnswer>;
}

export { KubeError } from "./kube_errors.ts";

/** Options of {@linkcode createKube}. */
export interface KubeOptions {
  /** A kubeconfig file (local runs); absent = the in-cluster service account. */
  kubeconfigPath?: string;
  logger: Logger;
  /** Per-request limit so a hung API server cannot hold the drain past its deadline; default 10 s. */
  requestTimeoutMs?: number;
  /** Reported as the event source; defaults to `spot-termination-handler`. */
  component?: string;
}

type Obj = Record<string, unknown>;

/** The parts of client-node's ApiException we use; matched structurally to keep the import lazy. */
interface ApiExceptionLike {
  code: number;
  body?: unknown;
}

function isApiException(error: unknown): error is ApiExceptionLike {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "number" &&
    "body" in error;
}

/** The Status object's message, with a PodDisruptionBudget's cause appended when present. */
function statusMessage(body: unknown): string {
  let status: unknown = body;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body);
    } catch {
      return body.trim().slice(0, 300);
    }
  }
  if (typeof status !== "object" || status === null) return "";
  const s = status as Obj;
  const message = typeof s.message === "string" ? s.message : "";
  const details = s.details as Obj | undefined;
  const causes = Array.isArray(details?.causes) ? details.causes as Obj[] : [];
  const extra = causes.map((c) => c.message).filter((m): m is string =>
    typeof m === "string" && m !== "" && !message.includes(m)
  );
  return extra.length > 0 ? `${message} (${extra.join("; ")})` : message;
}

/** `403 Forbidden: <message>` for an API error, the transport error's text otherwise. */
function describeError(error: unknown): { status?: number; text: string } {
  if (isApiException(error)) {
    const message = statusMessage(error.body);
    const head = `${error.code} ${HTTP_REASONS[error.code] ?? "Error"}`;
    return { status: error.code, text: message ? `${head}: ${message}` : head };
  }
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    if (error.name === "TimeoutError" || error.name === "AbortError") {
      return { text: `request timed out${cause}` };
    }
    return { text: `${error.message}${cause}` };
  }
  return { text: String(error) };
}

function kubeError(what: string, error: unknown): KubeError {
  const { status, text } = describeError(error);
  return new KubeError(`${what}: ${text}`, {
    status,
    cause: error,
    kind: kindOfStatus(status, text),
  });
}

/**
 * Why a kubeconfig could not be loaded, without its contents: YAML parsers quote the lines
 * around a syntax error, and those lines may hold a bearer token or a key.
 */
function configErrorText(error: unknown): string {
  const e = error as { name?: string; code?: string; reason?: string; mark?: { line?: number } };
  if (e?.code === "ENOENT" || e?.name === "NotFound") return "file not found";
  if (e?.code === "EACCES" || e?.name === "PermissionDenied") return "permission denied";
  if (e?.name === "YAMLException") {
    const line = typeof e.mark?.line === "number" ? ` on line ${e.mark.line + 1}` : "";
    return `malformed YAML${line}${e.reason ? ` (${e.reason})` : ""}`;
  }
  return `${e?.name ?? "Error"} (contents not shown)`;
}

function toIso(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === "string" ? value : undefined;
}

/**
 * Convert a client-node `V1Pod` (or the plain JSON of one) to {@linkcode PodInfo}.
 *
 * @example
 * ```ts
 * toPodInfo({ metadata: { namespace: "default", name: "web-1", uid: "u1" }, spec: {}, status: {} });
 * ```
 */
export function toPodInfo(pod: unknown): PodInfo {
  const p = (pod ?? {}) as Obj;
  const metadata = (p.metadata ?? {}) as Obj;
  const spec = (p.spec ?? {}) as Obj;
  const status = (p.status ?? {}) as Obj;
  const annotations = (metadata.annotations ?? {}) as Record<string, string>;
  const owners = (metadata.ownerReferences ?? []) as Obj[];
  const volumes = (spec.volumes ?? []) as Obj[];
  const info: PodInfo = {
    namespace: String(metadata.namespace ?? ""),
    name: String(metadata.name ?? ""),
    uid: String(metadata.uid ?? ""),
    ownerKinds: owners.map((o) => String(o.kind)),
    isMirror: "kubernetes.io/config.mirror" in annotations,
    hasEmptyDir: volumes.some((v) => v.emptyDir !== undefined && v.emptyDir !== null),
  };
  if (typeof spec.nodeName === "string") info.nodeName = spec.nodeName;
  if (typeof status.phase === "string") info.phase = status.phase;
  if (typeof spec.terminationGracePeriodSeconds === "number") {
    info.terminationGracePeriodSeconds = spec.terminationGracePeriodSeconds;
  }
  const deletion = toIso(metadata.deletionTimestamp);
  if (deletion) info.deletionTimestamp = deletion;
  return info;
}

/**
 * Convert a Node (client-node object or plain JSON) to {@linkcode NodeInfo}.
 *
 * @example
 * ```ts
 * toNodeInfo({ metadata: { name: "n1" }, spec: { unschedulable: true } }).unschedulable; // true
 * ```
 */
export function toNodeInfo(node: unknown): NodeInfo {
  const n = (node ?? {}) as Obj;
  const metadata = (n.metadata ?? {}) as Obj;
  const spec = (n.spec ?? {}) as Obj;
  const taints = ((spec.taints ?? []) as Obj[]).map((t) => {
    const taint: Taint = { key: String(t.key), effect: String(t.effect) };
    if (typeof t.value === "string" && t.value !== "") taint.value = t.value;
    return taint;
  });
  const info: NodeInfo = {
    name: String(metadata.name ?? ""),
    unschedulable: spec.unschedulable === true,
    annotations: { ...(metadata.annotations ?? {}) as Record<string, string> },
    labels: { ...(metadata.labels ?? {}) as Record<string, string> },
    taints,
  };
  const nodeInfo = ((n.status ?? {}) as Obj).nodeInfo as Obj | undefined;
  if (typeof nodeInfo?.bootID === "string" && nodeInfo.bootID !== "") info.bootId = nodeInfo.bootID;
  return info;
}

/**
 * Build the merge-patch body for {@linkcode Kube.patchNode}; only the given fields appear.
 *
 * @example
 * ```ts
 * nodePatchBody({ unschedulable: true, annotations: { "a/b": null } });
 * // { spec: { unschedulable: true }, metadata: { annotations: { "a/b": null } } }
 * ```
 */
export function nodePatchBody(patch: NodePatch): Obj {
  const body: Obj = {};
  const spec: Obj = {};
  if (patch.unschedulable !== undefined) spec.unschedulable = patch.unschedulable;
  if (patch.taints !== undefined) spec.taints = patch.taints.map((t) => ({ ...t }));
  if (Object.keys(spec).length > 0) body.spec = spec;
  const metadata: Obj = {};
  if (patch.annotations !== undefined) metadata.annotations = { ...patch.annotations };
  if (patch.labels !== undefined) metadata.labels = { ...patch.labels };
  if (Object.keys(metadata).length > 0) body.metadata = metadata;
  return body;
}

/** A name like client-go's event recorder makes: `<object>.<hex nanoseconds>`. */
function eventName(node: string, now: Date): string {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6));
  return `${node}.${nanos.toString(16)}`;
}

/**
 * Create the real adapter. `@kubernetes/client-node` is imported here, not at module load.
 * With `kubeconfigPath` the file's current context is used (a plain-http server needs
 * `insecure-skip-tls-verify: true` there); without it, the in-cluster service account.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const logger = createLogger();
 * const kube = await createKube({ kubeconfigPath: "/tmp/kubeconfig", logger });
 * await kube.patchNode("ip-10-0-0-1", { unschedulable: true });
 * ```
 */
export async function createKube(options: KubeOptions): Promise<Kube> {
  const k8s = await import("@kubernetes/client-node");
  const { logger } = options;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const component = options.component ?? "spot-termination-handler";
  const kc = new k8s.KubeConfig();
  try {
    if (options.kubeconfigPath) kc.loadFromFile(options.kubeconfigPath);
    else kc.loadFromCluster();
  } catch (error) {
    const source = options.kubeconfigPath ?? "the in-cluster service account";
    throw new KubeError(`load Kubernetes config from ${source}: ${configErrorText(error)}`, {
      kind: "config",
    });
  }
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const server = kc.getCurrentCluster()?.server ?? "";
  logger.debug("kubernetes client ready", {
    server,
    source: options.kubeconfigPath ?? "in-cluster",
  });

  // A fresh signal per request: middleware runs for each call, so each gets its own timer.
  const timeout: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      return new k8s.Observable(Promise.resolve(ctx));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  const withTimeout: ConfigurationOptions<ObservableMiddleware> = {
    middleware: [timeout],
    middlewareMergeStrategy: "append",
  };
  const mergePatch = k8s.setHeaderOptions(
    "Content-Type",
    k8s.PatchStrategy.MergePatch,
    withTimeout,
  );

  return {
    async getNode(name) {
      try {
        return toNodeInfo(await core.readNode({ name }, withTimeout));
      } catch (error) {
        throw kubeError(`get node ${name}`, error);
      }
    },
    async patchNode(name, patch) {
      try {
        await core.patchNode({ name, body: nodePatchBody(patch) }, mergePatch);
      } catch (error) {
        throw kubeError(`patch node ${name}`, error);
      }
    },
    async getPod(ref) {
      try {
        return toPodInfo(
          await core.readNamespacedPod({ name: ref.name, namespace: ref.namespace }, withTimeout),
        );
      } catch (error) {
        if (isApiException(error) && error.code === 404) return null;
        throw kubeError(`get pod ${ref.namespace}/${ref.name}`, error);
      }
    },
    async listPodsOnNode(node) {
      try {
        const list = await core.listPodForAllNamespaces(
          { fieldSelector: `spec.nodeName=${node}` },
          withTimeout,
        );
        return (list.items ?? []).map(toPodInfo);
      } catch (error) {
        throw kubeError(`list pods on node ${node}`, error);
      }
    },
    async evictPod(ref, evictOptions = {}) {
      const body: Obj = {
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: ref.name, namespace: ref.namespace },
      };
      if (evictOptions.gracePeriodSeconds !== undefined) {
        body.deleteOptions = { gracePeriodSeconds: evictOptions.gracePeriodSeconds };
      }
      try {
        await core.createNamespacedPodEviction(
          { name: ref.name, namespace: ref.namespace, body },
          withTimeout,
        );
        return { status: "evicted" };
      } catch (error) {
        const { status, text } = describeError(error);
        const message = `evict pod ${ref.namespace}/${ref.name}: ${text}`;
        if (status === undefined) return { status: "retryable", code: 0, message };
        if (status === 404) return { status: "gone" };
        if (status === 429) return { status: "blocked", code: 429, message };
        // 409: a concurrent PodDisruptionBudget update; 408: the server timed out. Both are
        // "try again", like 5xx.
        if (status >= 500 || status === 409 || status === 408) {
          return { status: "retryable", code: status, message };
        }
        return { status: "failed", code: status, message };
      }
    },
    async createNodeEvent(node, event) {
      const now = new Date();
      const body = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: eventName(node, now), namespace: "default" },
        // The kubelet uses the node name as the Node's UID in its events; do the same so
        // `kubectl describe node` lists ours beside its own.
        involvedObject: { apiVersion: "v1", kind: "Node", name: node, uid: node },
        reason: event.reason,
        message: event.message,
        type: event.type,
        source: { component, host: node },
        reportingComponent: component,
        reportingInstance: node,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      try {
        await core.createNamespacedEvent(
          { namespace: "default", body },
          withTimeout,
        );
      } catch (error) {
        throw kubeError(`create event ${event.reason} for node ${node}`, error);
      }
    },
    async canI(check) {
      try {
        const review = await authz.createSelfSubjectAccessReview({
          body: accessReviewBody(check),
        }, withTimeout);
        const reason = review.status?.reason;
        return { allowed: review.status?.allowed === true, ...(reason ? { reason } : {}) };
      } catch (error) {
        throw kubeError(`access review ${check.verb} ${check.resource}`, error);
      }
    },
  };
}
