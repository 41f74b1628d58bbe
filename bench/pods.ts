/**
 * The pods of a benchmark node: mostly Deployment (ReplicaSet) pods, some with emptyDir, a few
 * guarded by a PodDisruptionBudget that refuses the first two or three evictions, five DaemonSet
 * pods and the handler's own pod, like a busy worker node.
 *
 * @module
 */

import { DEMO_HANDLER_POD, manyPods } from "../tools/fake_apiserver.ts";
import type { FakePod } from "../tools/fake_apiserver_store.ts";

/** A pod placed on a node, as the Kubernetes API stand-in takes it. */
export type NodePod = FakePod & { nodeName: string };

/** The pods of one benchmark node and how many of each kind. */
export interface NodeLoad {
  pods: NodePod[];
  /** Pods a drain must evict (everything but the DaemonSet pods and the handler's own). */
  evictable: number;
  /** DaemonSet pods, the handler's own included. */
  daemonSet: number;
  /** Evictable pods behind a PodDisruptionBudget (refused 2 or 3 times, then allowed). */
  guarded: number;
}

/** The handler's own pod on every benchmark node (a DaemonSet pod, never evicted). */
export const HANDLER_POD: { namespace: string; name: string } = DEMO_HANDLER_POD;

const DAEMON_SETS = ["kube-proxy", "aws-node", "ebs-csi-node", "node-exporter", "fluent-bit"];

/**
 * `total` pods on `node`: 5 DaemonSet pods plus the handler's own, `max(2, round(total / 20))`
 * PodDisruptionBudget-guarded pods refused alternately 2 and 3 times, the rest ReplicaSet pods
 * (every tenth with an emptyDir volume).
 *
 * @example
 * ```ts
 * const load = mixedPods("node-a", 110);
 * load.evictable; // 104
 * ```
 */
export function mixedPods(node: string, total: number): NodeLoad {
  const daemonSet = DAEMON_SETS.length + 1;
  if (!Number.isInteger(total) || total < daemonSet + 2) {
    throw new RangeError(
      `mixedPods: total must be an integer of at least ${daemonSet + 2}, got ${total}`,
    );
  }
  const guarded = Math.max(2, Math.round(total / 20));
  const pods: NodePod[] = DAEMON_SETS.map((ds) => ({
    namespace: "kube-system",
    name: `${ds}-x7k2q`,
    ownerKind: "DaemonSet",
    ownerName: ds,
    nodeName: node,
  }));
  pods.push({
    ...HANDLER_POD,
    ownerKind: "DaemonSet",
    ownerName: "spot-termination-handler",
    nodeName: node,
  });
  manyPods(node, total - daemonSet).forEach((pod, i) => {
    const extra: Partial<FakePod> = {};
    if (i < guarded) extra.pdbBlocks = i % 2 === 0 ? 2 : 3;
    else if (i % 10 === 0) extra.emptyDir = true;
    pods.push({ ...pod, ...extra });
  });
  return { pods, evictable: total - daemonSet, daemonSet, guarded };
}
