/**
 * The bodies the drain sends and how an eviction's answer reads, shared by both Kubernetes
 * adapters (the fetch client in lib/kube_http.ts and the client-node one in lib/kube_client.ts),
 * so the two cannot drift apart. Pure functions.
 *
 * @module
 */

import type { EvictionOutcome, NodeEvent, PodRef } from "./kube.ts";

/**
 * A policy/v1 Eviction for the pod; `deleteOptions` only when a grace period is set, so the pod's
 * own `terminationGracePeriodSeconds` applies otherwise.
 *
 * @example
 * ```ts
 * evictionBody({ namespace: "default", name: "web-1" }, 25).deleteOptions; // { gracePeriodSeconds: 25 }
 * ```
 */
export function evictionBody(ref: PodRef, gracePeriodSeconds?: number): Record<string, unknown> {
  return {
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name: ref.name, namespace: ref.namespace },
    ...(gracePeriodSeconds !== undefined ? { deleteOptions: { gracePeriodSeconds } } : {}),
  };
}

/**
 * A refused eviction as its outcome: gone (404), blocked by a PodDisruptionBudget (429), worth
 * another try (no answer, 5xx, 409 a concurrent budget update, 408 the server timed out), or
 * failed for good.
 *
 * @example
 * ```ts
 * refusedEviction({ namespace: "default", name: "web-1" }, 429, "would violate the budget").status; // "blocked"
 * ```
 */
export function refusedEviction(
  ref: PodRef,
  status: number | undefined,
  text: string,
): EvictionOutcome {
  const message = `evict pod ${ref.namespace}/${ref.name}: ${text}`;
  if (status === undefined) return { status: "retryable", code: 0, message };
  if (status === 404) return { status: "gone" };
  if (status === 429) return { status: "blocked", code: 429, message };
  if (status >= 500 || status === 409 || status === 408) {
    return { status: "retryable", code: status, message };
  }
  return { status: "failed", code: status, message };
}

/** A name like client-go's event recorder makes: `<object>.<hex nanoseconds>`. */
function eventName(node: string, now: Date): string {
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6));
  return `${node}.${nanos.toString(16)}`;
}

/**
 * A core/v1 Event about the Node in namespace `default`, as the kubelet writes its own, so
 * `kubectl describe node` lists it beside them.
 *
 * @example
 * ```ts
 * const body = nodeEventBody("ip-10-0-0-1", { reason: "SpotInterruption", message: "m", type: "Warning" }, "sth", new Date());
 * body.involvedObject; // { apiVersion: "v1", kind: "Node", name: "ip-10-0-0-1", uid: "ip-10-0-0-1" }
 * ```
 */
export function nodeEventBody(node: string, event: NodeEvent, component: string, now: Date) {
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: eventName(node, now), namespace: "default" },
    // The kubelet uses the node name as the Node's UID in its events; do the same.
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
}
