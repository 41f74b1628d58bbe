/**
 * The few Kubernetes calls the handler makes, behind a small interface so the drain and the
 * handler are tested against in-process fakes. The real adapter is plain `fetch`
 * (lib/kube_http.ts, lib/kube_http_drain.ts); lib/kube_client.ts wraps `@kubernetes/client-node`,
 * imported only for kubeconfigs the small reader does not understand (exec plugins, ...), since
 * loading it costs ~0.6 s and ~90 MiB (docs/design.md). Both read and write the shapes here
 * through lib/kube_objects.ts and send the same bodies (lib/kube_requests.ts).
 *
 * @module
 */

import type { AccessAnswer, AccessCheck } from "./kube_http.ts";

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
/** An event as the handler reports it on its Node. */
export interface NodeEvent {
  reason: string;
  message: string;
  type: "Normal" | "Warning";
}

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
  createNodeEvent(node: string, event: NodeEvent): Promise<void>;
  /** SelfSubjectAccessReview: may the handler's identity do this? */
  canI(check: AccessCheck): Promise<AccessAnswer>;
}
