/**
 * The drain's requests over plain `fetch`: list the node's pods, evict one, and write an Event on
 * the Node. With these the fetch client is a whole {@linkcode Kube}, so the drain no longer waits
 * for `@kubernetes/client-node`'s import (0.4–0.9 s, +83 MiB) and every answer it reads is bounded;
 * the library is only loaded for kubeconfigs the small reader does not understand.
 *
 * @module
 */

import type { EvictionOutcome, NodeEvent, PodInfo, PodRef } from "./kube.ts";
import { KubeError } from "./kube_errors.ts";
import { toPodInfo } from "./kube_objects.ts";
import { evictionBody, nodeEventBody, refusedEviction } from "./kube_requests.ts";
import { call, type Connection } from "./kube_request.ts";

/** Pods per page of the listing: a page stays a few hundred KiB even with large pods. */
export const LIST_PAGE_SIZE = 100;
// One page's answer at most. A pod is a few KiB; 100 pods with a large last-applied annotation
// each stay well under this, and a hostile or broken server cannot make us buffer more.
const MAX_PAGE_BYTES = 16 << 20;
// A node runs at most a few hundred pods (kubelet max-pods is 110 by default, 250 at most on
// EKS); a server that keeps sending `continue` past this many pages is not answering a listing.
const MAX_PAGES = 50;

/** The API path of one pod. */
export const podPath = (ref: PodRef): string =>
  `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${encodeURIComponent(ref.name)}`;

/**
 * Every pod bound to `node` in all namespaces, by field selector, page by page.
 *
 * @example
 * ```ts
 * declare const conn: import("./kube_request.ts").Connection;
 * const pods = await listPodsOnNode(conn, "ip-10-0-0-1");
 * ```
 */
export async function listPodsOnNode(conn: Connection, node: string): Promise<PodInfo[]> {
  const what = `list pods on node ${node}`;
  const pods: PodInfo[] = [];
  let token = "";
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({
      fieldSelector: `spec.nodeName=${node}`,
      limit: String(LIST_PAGE_SIZE),
      ...(token ? { continue: token } : {}),
    });
    const list = await call(conn, what, "GET", `/api/v1/pods?${query}`, undefined, MAX_PAGE_BYTES);
    const { items, metadata } = (list ?? {}) as {
      items?: unknown;
      metadata?: { continue?: unknown };
    };
    if (!Array.isArray(items)) throw new KubeError(`${what}: unreadable answer (no items list)`);
    for (const item of items) pods.push(toPodInfo(item));
    token = typeof metadata?.continue === "string" ? metadata.continue : "";
    if (!token) return pods;
  }
  throw new KubeError(`${what}: still more pages after ${MAX_PAGES} of ${LIST_PAGE_SIZE}`);
}

/**
 * Evict one pod (policy/v1). An HTTP error is an outcome, never an exception.
 *
 * @example
 * ```ts
 * declare const conn: import("./kube_request.ts").Connection;
 * const outcome = await evictPod(conn, { namespace: "default", name: "web-1" }, { gracePeriodSeconds: 25 });
 * ```
 */
export async function evictPod(
  conn: Connection,
  ref: PodRef,
  options: { gracePeriodSeconds?: number } = {},
): Promise<EvictionOutcome> {
  const what = `evict pod ${ref.namespace}/${ref.name}`;
  try {
    await call(conn, what, "POST", `${podPath(ref)}/eviction`, {
      type: "application/json",
      value: evictionBody(ref, options.gracePeriodSeconds),
    });
    return { status: "evicted" };
  } catch (error) {
    if (!(error instanceof KubeError)) throw error;
    // The error already names the request; the outcome's message adds that prefix itself.
    const text = error.message.startsWith(`${what}: `)
      ? error.message.slice(what.length + 2)
      : error.message;
    return refusedEviction(ref, error.status, text);
  }
}

/**
 * Write a core/v1 Event about the Node (namespace `default`).
 *
 * @example
 * ```ts
 * declare const conn: import("./kube_request.ts").Connection;
 * await createNodeEvent(conn, "ip-10-0-0-1", { reason: "SpotInterruption", message: "m", type: "Warning" });
 * ```
 */
export async function createNodeEvent(
  conn: Connection,
  node: string,
  event: NodeEvent,
  component = "spot-termination-handler",
  now = new Date(),
): Promise<void> {
  await call(
    conn,
    `create event ${event.reason} for node ${node}`,
    "POST",
    "/api/v1/namespaces/default/events",
    { type: "application/json", value: nodeEventBody(node, event, component, now) },
  );
}
