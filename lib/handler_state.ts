/**
 * What the handler writes on the node, as pure functions: the annotation that records where a
 * notice stands (so a restarted handler resumes or skips it, and the node's return knows what to
 * undo), the taint, and the load-balancer exclusion label. Reading and writing the node is
 * handler_node.ts's job.
 *
 * @module
 */

import type { NodeInfo, Taint } from "./kube.ts";
import type { Notice } from "./notice.ts";
import type { Step } from "./policy.ts";

/** Annotation prefix; one key per notice kind so a rebalance and a spot notice do not collide. */
const ANNOTATION_PREFIX = "spot-termination-handler";
/** Taint key put on a node that is about to go away. */
export const TAINT_KEY = "spot-termination-handler/notice";

/**
 * The label that takes a node out of external load balancers' target lists at once (service
 * controller, AWS Load Balancer Controller), where a cordon alone does not since Kubernetes 1.19.
 */
export const LB_EXCLUSION_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";

/**
 * Where a notice stands on the node: `announced` (a maintenance event told, its action not yet
 * due), `started`, `done`, `failed`, `canceled` (an announced event completed or was canceled
 * before its time) and `returned` (the node came back and the handler undid its cordon).
 */
export type HandledPhase = "announced" | "started" | "done" | "failed" | "canceled" | "returned";
const PHASES: readonly HandledPhase[] = [
  "announced",
  "started",
  "done",
  "failed",
  "canceled",
  "returned",
];

/** Phases after which a notice needs nothing more (the node's return is node_return.ts's). */
export const FINAL_PHASES: ReadonlySet<HandledPhase> = new Set([
  "done",
  "failed",
  "canceled",
  "returned",
]);

/** What the node annotation records about a notice. */
export interface HandledState {
  id: string;
  phase: HandledPhase;
  at: string;
  /** The node's boot ID when the handler cordoned it; a new one means the machine came back. */
  bootId?: string;
  /** Whether someone else had cordoned the node before; then it is never uncordoned by us. */
  wasUnschedulable?: boolean;
  /** The plan cordoned and tainted the node: only then does the node's return undo anything. */
  cordoned?: boolean;
  /** The handler added {@linkcode LB_EXCLUSION_LABEL} (it was not there): only then is it removed. */
  lbLabelAdded?: boolean;
  /** AWS's detail (`terminate`, `system-reboot`, ...), for messages after a restart. */
  action?: string;
  /** The notice's time (RFC 3339), for messages after a restart. */
  noticeTime?: string;
}

/** What the handler learned from its one quick look at the node. */
export interface NodeView {
  info?: NodeInfo;
  previous?: HandledState;
}

/** The annotation key for a notice kind. */
export function annotationKey(kind: Notice["kind"]): string {
  return `${ANNOTATION_PREFIX}/${kind}`;
}

/** Parse an annotation value; anything unreadable counts as "not handled". */
export function parseHandledState(value: string | undefined): HandledState | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value);
    if (typeof v?.id === "string" && PHASES.includes(v.phase)) return v;
  } catch {
    // A hand-edited or foreign annotation must not block handling.
  }
  return undefined;
}

/** The node's taints with the handler's taint for a notice kind in place of any earlier one. */
export function withTaint(taints: Taint[], kind: string): Taint[] {
  return [
    ...taints.filter((t) => !(t.key === TAINT_KEY && t.effect === "NoSchedule")),
    { key: TAINT_KEY, value: kind, effect: "NoSchedule" },
  ];
}

/** Whether the cordon adds {@linkcode LB_EXCLUSION_LABEL}: asked for, and not there already. */
export function addsLbLabel(exclude: boolean | undefined, info: NodeInfo | undefined): boolean {
  return exclude === true && info !== undefined && !(LB_EXCLUSION_LABEL in info.labels);
}

/** What {@linkcode handledStateValue} needs besides the notice and the node. */
export interface StateValueOptions {
  at: Date;
  /** EXCLUDE_FROM_LOAD_BALANCERS: the cordon labels the node. */
  excludeFromLoadBalancers?: boolean;
}

/**
 * The annotation value for a notice in a phase. The before-state (boot ID, cordon, label) comes
 * from the node as first seen, or from an earlier run of the same notice.
 */
export function handledStateValue(
  notice: Notice,
  phase: HandledPhase,
  view: NodeView,
  plan: Step[],
  options: StateValueOptions,
): string {
  const value: HandledState = {
    id: notice.id,
    phase,
    at: options.at.toISOString(),
    action: notice.action,
    noticeTime: notice.noticeTime.toISOString(),
  };
  // What was true before this handler touched the node comes from the first run of this very
  // notice; another notice's record (an earlier boot, an announcement) says nothing about it.
  const prev = view.previous?.id === notice.id && view.previous.phase !== "announced"
    ? view.previous
    : undefined;
  const bootId = prev?.bootId ?? view.info?.bootId;
  if (bootId) value.bootId = bootId;
  const was = prev?.wasUnschedulable ?? view.info?.unschedulable;
  if (was !== undefined) value.wasUnschedulable = was;
  const cordoned = prev?.cordoned === true || plan.includes("cordon");
  if (cordoned) value.cordoned = true;
  const added = prev?.lbLabelAdded ??
    (cordoned && addsLbLabel(options.excludeFromLoadBalancers, view.info));
  if (added) value.lbLabelAdded = true;
  return JSON.stringify(value);
}
