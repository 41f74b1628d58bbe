/**
 * The steps that end a notice on the node, in the order a check runs them: cancel announced
 * maintenance events that are over before their time (timer, annotation, `canceled` message),
 * then give a node that is back to service (one merge patch) and say so. Each step takes the
 * {@linkcode ReturnState} that lib/node_return.ts keeps between checks.
 *
 * @module
 */

import { sendMessage } from "./handler_messages.ts";
import {
  annotationKey,
  type HandledState,
  LB_EXCLUSION_LABEL,
  TAINT_KEY,
} from "./handler_state.ts";
import type { Identity } from "./imds.ts";
import type { NodeInfo, NodePatch } from "./kube.ts";
import type { KubeCore } from "./kube_http.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { FinishedEvent, Scheduler } from "./maintenance.ts";
import type { Notice, NoticeKind } from "./notice.ts";
import type { Message, NotifyContext } from "./notify_message.ts";
import type { Notifier } from "./notify.ts";
import type { ReturnReport } from "./report.ts";
import { withTimeout } from "./_async.ts";
import type { ReturnDecision } from "./node_return_decide.ts";

/** Side effects of `createNodeReturn` (lib/node_return.ts); all injected. */
export interface NodeReturnDeps {
  kubeCore: () => Promise<KubeCore>;
  nodeName: () => Promise<string>;
  identity: () => Promise<Identity>;
  notifier: Notifier;
  logger: Logger;
  /** Whether the handler is working on a notice now. */
  busy: () => boolean;
  /** Holds the timers of announced maintenance events. */
  scheduler?: Pick<Scheduler, "cancel" | "pending">;
  metrics?: Metrics;
  now?: () => Date;
}

/** Options of `createNodeReturn`. */
export interface NodeReturnOptions {
  cluster?: string;
  dryRun: boolean;
}

/** What the steps share, kept by `createNodeReturn` between checks. */
export interface ReturnState {
  deps: NodeReturnDeps;
  options: NodeReturnOptions;
  now: () => Date;
  /** Finished maintenance events, from the monitor, by ID. */
  finished: Map<string, FinishedEvent>;
  /** A dry run changes nothing on the node, so the same return would be found at every check. */
  previewed: Set<string>;
}

/** How long the identity lookup may hold a message back. */
const IDENTITY_MS = 2_000;

/** The notice a record on the node stands for, to name it in a message. */
function noticeOf(kind: NoticeKind, record: HandledState, event?: FinishedEvent): Notice {
  const time = new Date(record.noticeTime ?? record.at);
  return {
    id: record.id,
    kind,
    action: record.action ?? event?.code ?? "",
    noticeTime: time,
    deadline: time,
    raw: "",
  };
}

/** Who the message is about; the identity lookup may hold a message back only so long. */
async function notifyContext(state: ReturnState, node: string): Promise<NotifyContext> {
  const id = await withTimeout(state.deps.identity(), IDENTITY_MS).catch(() => undefined);
  return {
    cluster: state.options.cluster,
    node,
    instanceId: id?.instanceId ?? "unknown",
    instanceType: id?.instanceType ?? "unknown",
    availabilityZone: id?.availabilityZone ?? "unknown",
    region: id?.region,
  };
}

function send(state: ReturnState, msg: Message): Promise<void> {
  return sendMessage(state.deps.notifier, state.deps.logger, msg);
}

function marked(state: ReturnState, record: HandledState, phase: HandledState["phase"]): string {
  return JSON.stringify({ ...record, phase, at: state.now().toISOString() });
}

/** Events whose timer is pending here but whose record the node does not show (dry run, API). */
function timerOnly(
  state: ReturnState,
  decision: ReturnDecision,
): Array<{ notice: Notice; event: FinishedEvent }> {
  const onNode = new Set(decision.cancel.map((c) => c.state.id));
  const out: Array<{ notice: Notice; event: FinishedEvent }> = [];
  for (const event of state.finished.values()) {
    const notice = state.deps.scheduler?.pending(event.id);
    if (notice && !onNode.has(event.id)) out.push({ notice, event });
  }
  return out;
}

/**
 * Cancel the maintenance events the decision found over before their time, and the timers of
 * finished events the node shows no record of; `core` undefined when the node could not be read
 * (only timers are cancelled then). Resolves with the cancelled event IDs.
 *
 * @example
 * ```ts
 * declare const state: ReturnState, core: import("./kube_http.ts").KubeCore;
 * const canceled = await cancelEvents(state, core, "ip-10-0-0-1", { cancel: [] });
 * ```
 */
export async function cancelEvents(
  state: ReturnState,
  core: KubeCore | undefined,
  node: string,
  decision: ReturnDecision,
): Promise<string[]> {
  const { deps, options } = state;
  const items = [
    ...decision.cancel.map((c) => ({
      notice: deps.scheduler?.pending(c.state.id) ?? noticeOf(c.kind, c.state, c.event),
      event: c.event,
      state: c.state,
    })),
    ...timerOnly(state, decision).map((t) => ({ ...t, state: undefined })),
  ];
  const done: string[] = [];
  for (const item of items) {
    deps.scheduler?.cancel(item.event.id);
    if (item.state && core && !options.dryRun) {
      await core.patchNode(node, {
        annotations: {
          [annotationKey("scheduled-maintenance")]: marked(state, item.state, "canceled"),
        },
      });
    }
    if (!options.dryRun) deps.metrics?.inc("sth_notices_closed_total", { outcome: "canceled" });
    deps.logger.info("maintenance event over before its time; nothing more will be done", {
      node,
      id: item.event.id,
      state: item.event.state,
    });
    await send(state, {
      phase: "canceled",
      notice: item.notice,
      context: await notifyContext(state, node),
      dryRun: options.dryRun,
      plan: [],
      state: item.event.state,
    });
    done.push(item.event.id);
  }
  return done;
}

/** The one merge patch that undoes the handler's cordon, and what it removes, for the report. */
function returnPatch(
  state: ReturnState,
  info: NodeInfo,
  back: NonNullable<ReturnDecision["back"]>,
): { patch: NodePatch; removed: string[] } {
  const removed: string[] = [];
  const patch: NodePatch = { annotations: {} };
  if (back.uncordon) patch.unschedulable = false;
  if (back.removeTaint) {
    patch.taints = info.taints.filter((t) => t.key !== TAINT_KEY);
    removed.push(`taint ${TAINT_KEY}`);
  }
  if (back.removeLabel) {
    patch.labels = { [LB_EXCLUSION_LABEL]: null };
    removed.push(`label ${LB_EXCLUSION_LABEL}`);
  }
  for (const s of back.states) {
    patch.annotations![annotationKey(s.kind)] = marked(state, s.state, "returned");
  }
  return { patch, removed };
}

/** Return the node to service (a dry run only logs that it would) and report what was done. */
async function giveBack(
  state: ReturnState,
  core: KubeCore,
  info: NodeInfo,
  back: NonNullable<ReturnDecision["back"]>,
): Promise<ReturnReport> {
  const { deps, options } = state;
  const { patch, removed } = returnPatch(state, info, back);
  const report: ReturnReport = { why: back.why, uncordoned: back.uncordon, removed };
  if (options.dryRun) {
    deps.logger.info("DRY RUN: the node is back; would return it to service", {
      ...report,
      removed: removed.join(", ") || undefined,
    });
    return report;
  }
  await core.patchNode(info.name, patch);
  deps.metrics?.inc("sth_notices_closed_total", { outcome: "returned" });
  deps.logger.info("node back in service", {
    node: info.name,
    why: back.why,
    uncordoned: back.uncordon,
    keptCordoned: !back.uncordon && info.unschedulable ? "cordoned before the handler" : undefined,
    removed: removed.join(", ") || undefined,
  });
  return report;
}

/**
 * Give the node back (once per set of records in a dry run) and send the "back in service"
 * message; undefined when a dry run already previewed this return.
 *
 * @example
 * ```ts
 * declare const state: ReturnState, core: import("./kube_http.ts").KubeCore;
 * declare const info: import("./kube.ts").NodeInfo;
 * declare const decision: import("./node_return_decide.ts").ReturnDecision;
 * const returned = await returnNode(state, core, "ip-10-0-0-1", info, decision.back!);
 * ```
 */
export async function returnNode(
  state: ReturnState,
  core: KubeCore,
  node: string,
  info: NodeInfo,
  back: NonNullable<ReturnDecision["back"]>,
): Promise<ReturnReport | undefined> {
  const key = back.states.map((s) => `${s.state.id}@${s.state.at}`).join(",");
  if (state.options.dryRun && state.previewed.has(key)) return undefined;
  state.previewed.add(key);
  const returned = await giveBack(state, core, info, back);
  const latest = [...back.states].sort((a, b) => a.state.at.localeCompare(b.state.at)).pop()!;
  await send(state, {
    phase: "returned",
    notice: noticeOf(latest.kind, latest.state, state.finished.get(latest.state.id)),
    context: await notifyContext(state, node),
    dryRun: state.options.dryRun,
    plan: [],
    returned,
  });
  return returned;
}
