/**
 * Kubernetes objects to and from the handler's own shapes (lib/kube.ts): a Pod or a Node, as
 * client-node objects or plain JSON, and the merge patch of a node. Pure functions, shared by both
 * adapters.
 *
 * @module
 */

import type { NodeInfo, NodePatch, PodInfo, Taint } from "./kube.ts";

type Obj = Record<string, unknown>;

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
