/**
 * When a notice ends, decided from the node alone: the handler's records on the node (one
 * annotation per kind), the node's boot ID and the maintenance events IMDS lists as finished.
 * Pure functions; lib/node_return.ts acts on what they decide.
 *
 * @module
 */

import {
  annotationKey,
  type HandledState,
  LB_EXCLUSION_LABEL,
  parseHandledState,
  TAINT_KEY,
} from "./handler_state.ts";
import type { NodeInfo } from "./kube.ts";
import type { FinishedEvent } from "./maintenance.ts";
import { NOTICE_KINDS, type NoticeKind } from "./notice.ts";
import type { ReturnReport } from "./report.ts";

/** One kind's record on the node. */
export interface KindState {
  kind: NoticeKind;
  state: HandledState;
}

/** What {@linkcode decideReturn} found to do. */
export interface ReturnDecision {
  /** Announced maintenance events that completed or were canceled before their time. */
  cancel: Array<KindState & { event: FinishedEvent }>;
  /** The node is back: undo the handler's cordon for these records. */
  back?: {
    states: KindState[];
    why: ReturnReport["why"];
    uncordon: boolean;
    removeTaint: boolean;
    removeLabel: boolean;
  };
  /** Why a cordon of ours stays for now (another notice still holds the node). */
  waiting?: string;
}

const IN_FORCE = new Set(["started", "done", "failed"]);

/**
 * How long after a spot hibernation's time a running handler means the instance resumed. A
 * resumed instance keeps its kernel, so its boot ID does not change; but the handler runs only
 * while the instance does, and AWS hibernates at the notice's time. Ten minutes leaves room for
 * the hibernation itself and a skewed clock.
 */
export const HIBERNATE_RESUME_MS = 10 * 60_000;

/** The handler's records on a node, one per kind that has one. */
function handledStates(node: NodeInfo): KindState[] {
  const out: KindState[] = [];
  for (const kind of NOTICE_KINDS) {
    const state = parseHandledState(node.annotations[annotationKey(kind)]);
    if (state) out.push({ kind, state });
  }
  return out;
}

/**
 * Decide what ends now. A record holds the node while the handler's cordon for it is in force
 * (phase started/done/failed, plan cordoned); it is over when the node's boot ID differs from the
 * one recorded at cordon time, when it is a maintenance event IMDS lists as finished, or when it
 * is a spot hibernation whose time is {@linkcode HIBERNATE_RESUME_MS} past (the instance resumed). The node
 * returns only when every record holding it is over and no notice is being handled: a spot stop
 * that came back while a rebalance cordon of this boot stands keeps the node cordoned.
 *
 * @example
 * ```ts
 * declare const node: import("./kube.ts").NodeInfo;
 * decideReturn(node, new Map(), false).back?.uncordon; // true after a reboot, if we cordoned it
 * ```
 */
export function decideReturn(
  node: NodeInfo,
  finished: ReadonlyMap<string, FinishedEvent>,
  busy: boolean,
  now: Date = new Date(),
): ReturnDecision {
  const states = handledStates(node);
  const cancel = states.flatMap((s) => {
    const event = finished.get(s.state.id);
    return s.kind === "scheduled-maintenance" && s.state.phase === "announced" && event
      ? [{ ...s, event }]
      : [];
  });
  const holding = states.filter((s) => s.state.cordoned && IN_FORCE.has(s.state.phase));
  if (holding.length === 0) return { cancel };
  const rebooted = (s: HandledState) =>
    node.bootId !== undefined && s.bootId !== undefined && node.bootId !== s.bootId;
  const resumed = (s: KindState) =>
    s.kind === "spot-interruption" && s.state.action === "hibernate" &&
    s.state.noticeTime !== undefined &&
    now.getTime() - Date.parse(s.state.noticeTime) > HIBERNATE_RESUME_MS;
  const over = (s: KindState) => rebooted(s.state) || finished.has(s.state.id) || resumed(s);
  const still = holding.filter((s) => !over(s));
  if (still.length > 0) {
    return { cancel, waiting: `${still.map((s) => s.state.id).join(", ")} still holds the node` };
  }
  if (busy) return { cancel, waiting: "a notice is being handled" };
  const byTime = [...holding].sort((a, b) => a.state.at.localeCompare(b.state.at));
  const latest = byTime[byTime.length - 1];
  const event = finished.get(latest.state.id);
  const why: ReturnReport["why"] = rebooted(latest.state)
    ? "rebooted"
    : event
    ? (event.state === "completed" ? "event-completed" : "event-canceled")
    : resumed(latest)
    ? "resumed"
    : "rebooted";
  return {
    cancel,
    back: {
      states: holding,
      why,
      // The first record saw the node before the handler touched it; later ones may have seen
      // the handler's own cordon.
      uncordon: byTime[0].state.wasUnschedulable !== true && node.unschedulable,
      removeTaint: node.taints.some((t) => t.key === TAINT_KEY),
      removeLabel: holding.some((s) => s.state.lbLabelAdded) && LB_EXCLUSION_LABEL in node.labels,
    },
  };
}
