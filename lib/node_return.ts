// deno-lint-ignore-file house/max-file-lines house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * The end of a notice: a maintenance event that completes or is canceled before its time is
 * cancelled (its timer dropped, a `canceled` message), and a node the handler cordoned that comes
 * back — a new `status.nodeInfo.bootID` after a reboot or a spot stop/hibernate, or its maintenance
 * event completed/canceled — is returned to service: uncordoned (unless someone else had cordoned
 * it before the handler), its taint and the load-balancer label the handler added removed, the
 * annotation marked `returned`, and a "back in service" message sent. The decision is a pure
 * function of the node and the finished events ({@linkcode decideReturn}); the node is read and
 * patched with the small fetch client, so an idle handler never loads the full Kubernetes client.
 *
 * @module
 */

import { sendMessage } from "./handler_messages.ts";
import {
  annotationKey,
  type HandledState,
  LB_EXCLUSION_LABEL,
  parseHandledState,
  TAINT_KEY,
} from "./handler_state.ts";
import type { Identity } from "./imds.ts";
import type { NodeInfo, NodePatch } from "./kube.ts";
import type { KubeCore } from "./kube_http.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { FinishedEvent, Scheduler } from "./maintenance.ts";
import { type Notice, NOTICE_KINDS, type NoticeKind } from "./notice.ts";
import type { Message, Notifier, NotifyContext } from "./notify.ts";
import type { ReturnReport } from "./report.ts";
import { withTimeout } from "./retry.ts";

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
export function handledStates(node: NodeInfo): KindState[] {
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

/** Side effects of {@linkcode createNodeReturn}; all injected. */
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

/** Options of {@linkcode createNodeReturn}. */
export interface NodeReturnOptions {
  cluster?: string;
  dryRun: boolean;
}

/** What one check did. */
export interface ReturnOutcome {
  canceled: string[];
  returned?: ReturnReport;
}

/** See {@linkcode createNodeReturn}. */
export interface NodeReturn {
  /** Look at the node once and end what is over; never rejects (problems are logged). */
  check(): Promise<ReturnOutcome>;
  /** The monitor's list of finished events, every round: checks when one is new. */
  eventsFinished(events: readonly FinishedEvent[]): Promise<void>;
  /** Check now and then every `intervalMs` until the signal aborts. */
  repeat(
    signal: AbortSignal,
    sleep: (ms: number, signal: AbortSignal) => Promise<void>,
    intervalMs: number,
  ): Promise<void>;
}

/** How long the identity lookup may hold a message back. */
const IDENTITY_MS = 2_000;

function noticeOf(kind: NoticeKind, state: HandledState, event?: FinishedEvent): Notice {
  const time = new Date(state.noticeTime ?? state.at);
  return {
    id: state.id,
    kind,
    action: state.action ?? event?.code ?? "",
    noticeTime: time,
    deadline: time,
    raw: "",
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Create the return step. `main.ts` runs {@linkcode NodeReturn.repeat} (at start-up, then every
 * preflight interval) and feeds the monitor's finished events to
 * {@linkcode NodeReturn.eventsFinished}.
 *
 * @example
 * ```ts
 * declare const deps: NodeReturnDeps, handler: import("./handler.ts").Handler;
 * const { kubeCore, nodeName, identity, notifier, logger, scheduler } = deps;
 * const back = createNodeReturn({ kubeCore, nodeName, identity, notifier, logger, busy: handler.busy, scheduler }, { dryRun: false });
 * await back.check();
 * ```
 */
export function createNodeReturn(deps: NodeReturnDeps, options: NodeReturnOptions): NodeReturn {
  const { logger } = deps;
  const now = deps.now ?? (() => new Date());
  const finished = new Map<string, FinishedEvent>();
  // A dry run changes nothing on the node, so the same return would be found at every check.
  const previewed = new Set<string>();
  // One check at a time: a tick and a new finished event must not both patch the node.
  let queue: Promise<unknown> = Promise.resolve();

  async function context(node: string): Promise<NotifyContext> {
    const id = await withTimeout(deps.identity(), IDENTITY_MS).catch(() => undefined);
    return {
      cluster: options.cluster,
      node,
      instanceId: id?.instanceId ?? "unknown",
      instanceType: id?.instanceType ?? "unknown",
      availabilityZone: id?.availabilityZone ?? "unknown",
      region: id?.region,
    };
  }

  const send = (msg: Message) => sendMessage(deps.notifier, logger, msg);

  function marked(state: HandledState, phase: HandledState["phase"]): string {
    return JSON.stringify({ ...state, phase, at: now().toISOString() });
  }

  /** Events whose timer is pending here but whose record the node does not show (dry run, API). */
  function timerOnly(decision: ReturnDecision): Array<{ notice: Notice; event: FinishedEvent }> {
    const onNode = new Set(decision.cancel.map((c) => c.state.id));
    const out: Array<{ notice: Notice; event: FinishedEvent }> = [];
    for (const event of finished.values()) {
      const notice = deps.scheduler?.pending(event.id);
      if (notice && !onNode.has(event.id)) out.push({ notice, event });
    }
    return out;
  }

  async function cancelEvents(
    core: KubeCore | undefined,
    node: string,
    decision: ReturnDecision,
  ): Promise<string[]> {
    const items = [
      ...decision.cancel.map((c) => ({
        notice: deps.scheduler?.pending(c.state.id) ?? noticeOf(c.kind, c.state, c.event),
        event: c.event,
        state: c.state,
      })),
      ...timerOnly(decision).map((t) => ({ ...t, state: undefined })),
    ];
    const done: string[] = [];
    for (const item of items) {
      deps.scheduler?.cancel(item.event.id);
      if (item.state && core && !options.dryRun) {
        await core.patchNode(node, {
          annotations: {
            [annotationKey("scheduled-maintenance")]: marked(item.state, "canceled"),
          },
        });
      }
      if (!options.dryRun) deps.metrics?.inc("sth_notices_closed_total", { outcome: "canceled" });
      logger.info("maintenance event over before its time; nothing more will be done", {
        node,
        id: item.event.id,
        state: item.event.state,
      });
      await send({
        phase: "canceled",
        notice: item.notice,
        context: await context(node),
        dryRun: options.dryRun,
        plan: [],
        state: item.event.state,
      });
      done.push(item.event.id);
    }
    return done;
  }

  async function giveBack(
    core: KubeCore,
    info: NodeInfo,
    back: NonNullable<ReturnDecision["back"]>,
  ): Promise<ReturnReport> {
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
      patch.annotations![annotationKey(s.kind)] = marked(s.state, "returned");
    }
    const report: ReturnReport = { why: back.why, uncordoned: back.uncordon, removed };
    if (options.dryRun) {
      logger.info("DRY RUN: the node is back; would return it to service", {
        ...report,
        removed: removed.join(", ") || undefined,
      });
      return report;
    }
    await core.patchNode(info.name, patch);
    deps.metrics?.inc("sth_notices_closed_total", { outcome: "returned" });
    logger.info("node back in service", {
      node: info.name,
      why: back.why,
      uncordoned: back.uncordon,
      keptCordoned: !back.uncordon && info.unschedulable
        ? "cordoned before the handler"
        : undefined,
      removed: removed.join(", ") || undefined,
    });
    return report;
  }

  async function once(): Promise<ReturnOutcome> {
    let node: string;
    let core: KubeCore;
    let info: NodeInfo;
    try {
      node = await deps.nodeName();
      core = await deps.kubeCore();
      info = await core.getNode(node);
    } catch (error) {
      // Only timers can be cancelled without the node; the return waits for the next check.
      const decision: ReturnDecision = { cancel: [] };
      const canceled = await cancelEvents(undefined, "unknown", decision).catch(() => []);
      logger.warn("could not read the node to check for its return; trying again later", {
        error: errorText(error),
      });
      return { canceled };
    }
    const decision = decideReturn(info, finished, deps.busy(), now());
    const canceled = await cancelEvents(core, node, decision);
    if (!decision.back) {
      if (decision.waiting) logger.debug("node stays cordoned", { reason: decision.waiting });
      return { canceled };
    }
    const key = decision.back.states.map((s) => `${s.state.id}@${s.state.at}`).join(",");
    if (options.dryRun && previewed.has(key)) return { canceled };
    previewed.add(key);
    const returned = await giveBack(core, info, decision.back);
    const latest = [...decision.back.states].sort((a, b) => a.state.at.localeCompare(b.state.at))
      .pop()!;
    await send({
      phase: "returned",
      notice: noticeOf(latest.kind, latest.state, finished.get(latest.state.id)),
      context: await context(node),
      dryRun: options.dryRun,
      plan: [],
      returned,
    });
    return { canceled, returned };
  }

  function check(): Promise<ReturnOutcome> {
    const run = queue.then(once).catch((error): ReturnOutcome => {
      logger.warn("could not return the node to service; trying again later", {
        error: errorText(error),
      });
      return { canceled: [] };
    });
    queue = run;
    return run;
  }

  return {
    check,
    async eventsFinished(events) {
      const fresh = events.filter((e) => finished.get(e.id)?.state !== e.state);
      if (fresh.length === 0) return;
      for (const e of fresh) finished.set(e.id, e);
      await check();
    },
    async repeat(signal, sleep, intervalMs) {
      while (!signal.aborted) {
        await check();
        await sleep(intervalMs, signal).catch(() => {});
      }
    },
  };
}
