// deno-lint-ignore-file house/max-file-lines house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * One notice → plan → three independent branches: the start message, the ASG detach, and the
 * Kubernetes work (cordon/taint/annotate, then drain). The handler's only job is a two-minute
 * window, so nothing waits on what it does not need: the message and the detach begin at once,
 * whatever the Kubernetes API does; the read of the node's annotation that makes a restart
 * idempotent gets one attempt of about a second; permanent API errors (401, 403, a missing node,
 * a broken kubeconfig) end their branch with one `error` line that names the fix instead of being
 * retried until the deadline. The result message follows a tagged outcome (report.ts), so it
 * never claims a drain that was not attempted, and the node annotation ends `done` or `failed`
 * either way.
 *
 * @module
 */

import type { AsgDetacher } from "./asg.ts";
import type { Drainer } from "./drain.ts";
import { selectPods } from "./drain.ts";
import type { Identity } from "./imds.ts";
import type { Kube, NodeInfo, NodePatch, PodRef, Taint } from "./kube.ts";
import {
  KubeError,
  type KubeErrorKind,
  kubeErrorKind,
  kubeFix,
  PERMANENT_KINDS,
  requestOf,
} from "./kube_errors.ts";
import type { KubeCore } from "./kube_http.ts";
import type { Logger } from "./log.ts";
import {
  actionTime,
  createScheduler,
  DEFAULT_MAINTENANCE_LEAD_MS,
  isDue,
  type Scheduler,
} from "./maintenance.ts";
import type { Metrics } from "./metrics.ts";
import type { Notice } from "./notice.ts";
import type { Message, Notifier, NotifyContext } from "./notify.ts";
import { type Actions, planFor, type Step } from "./policy.ts";
import {
  type AsgResult,
  type CordonReport,
  type DrainReport,
  drainReport,
  type HandlingReport,
  type NotRunReason,
} from "./report.ts";
import { cached } from "./_async.ts";
import { realSleep, retryUntil, type Sleep, withTimeout } from "./retry.ts";

/** Annotation prefix; one key per notice kind so a rebalance and a spot notice do not collide. */
export const ANNOTATION_PREFIX = "spot-termination-handler";
/** Taint key put on a node that is about to go away. */
export const TAINT_KEY = "spot-termination-handler/notice";
/** How long the restart-idempotency read of the node may hold the start message back. */
export const STATE_READ_MS = 1_000;
/**
 * How long the drain waits for a cordon that keeps failing transiently before it starts anyway:
 * evicting onto a schedulable node can bounce pods back, but waiting for a sick API until the
 * deadline would leave the pods no time at all.
 */
export const CORDON_WAIT_MS = 5_000;

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
const FINAL_PHASES: ReadonlySet<HandledPhase> = new Set(["done", "failed", "canceled", "returned"]);

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

/** Side effects the handler needs; all replaceable by fakes. */
export interface HandlerDeps {
  /** The small fetch-based client: node read/patch and own-pod lookup, no library import. */
  kubeCore: () => Promise<KubeCore>;
  /** Loads the full Kubernetes client on first use, for the drain and Events. */
  kube: () => Promise<Kube>;
  drainer: (kube: Kube) => Drainer;
  /** Creates the ASG detacher for a region; absent when DETACH_ASG is off. */
  asg?: (region: string) => AsgDetacher;
  notifier: Notifier;
  identity: () => Promise<Identity>;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  sleep?: Sleep;
  /** Holds announced maintenance events until their action time; real timers by default. */
  scheduler?: Scheduler;
}

/** Options of {@linkcode createHandler}. */
export interface HandlerOptions {
  nodeName?: string;
  ownPod?: PodRef;
  cluster?: string;
  dryRun: boolean;
  /** What each kind of notice triggers; lib/policy.ts. */
  actions: Actions;
  detachAsg: boolean;
  gracePeriodSeconds?: number;
  awsRegion?: string;
  /** Named in fix hints; absent in-cluster. */
  kubeconfigPath?: string;
  /** Overrides {@linkcode STATE_READ_MS} (tests). */
  stateReadMs?: number;
  /** Overrides {@linkcode CORDON_WAIT_MS} (tests). */
  cordonWaitMs?: number;
  /** Label the node {@linkcode LB_EXCLUSION_LABEL} in the cordon's PATCH (EXCLUDE_FROM_LOAD_BALANCERS). */
  excludeFromLoadBalancers?: boolean;
  /** How long before `NotBefore` a maintenance event's cordon and drain begin (MAINTENANCE_LEAD). */
  maintenanceLeadMs?: number;
}

/** Acts on notices. */
export interface Handler {
  /** Handle one notice; never rejects. Resolves with what was done (undefined when skipped). */
  handle(notice: Notice): Promise<HandlingReport | undefined>;
  /** The node this handler acts on, looked up from its own pod when NODE_NAME is unset. */
  nodeName(): Promise<string>;
  /** Resolves when every notice in flight is finished. */
  settled(): Promise<void>;
  /** Whether a notice is being handled right now (the node's return waits for it). */
  busy(): boolean;
}

const UNKNOWN_IDENTITY: Identity = {
  instanceId: "unknown",
  instanceType: "unknown",
  availabilityZone: "unknown",
  region: "unknown",
};

/** The annotation key for a notice kind. */
export function annotationKey(kind: Notice["kind"]): string {
  return `${ANNOTATION_PREFIX}/${kind}`;
}

/**
 * Send one message to every target; one `warn` names the targets it did not reach. Never
 * rejects: a message is never a reason to stop handling a notice.
 *
 * @example
 * ```ts
 * import { sendMessage } from "./handler.ts";
 * declare const notifier: import("./notify.ts").Notifier;
 * declare const logger: import("./log.ts").Logger;
 * declare const message: import("./notify.ts").Message;
 * await sendMessage(notifier, logger, message);
 * ```
 */
export async function sendMessage(notifier: Notifier, logger: Logger, msg: Message): Promise<void> {
  if (notifier.targets.length === 0) return;
  const outcomes = await notifier.send(msg);
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.target);
  if (failed.length > 0) {
    logger.warn(`${msg.phase} message not delivered to every target`, { failed });
  }
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

function withTaint(taints: Taint[], kind: string): Taint[] {
  return [
    ...taints.filter((t) => !(t.key === TAINT_KEY && t.effect === "NoSchedule")),
    { key: TAINT_KEY, value: kind, effect: "NoSchedule" },
  ];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const NOT_RUN_BY_KIND: Partial<Record<KubeErrorKind, NotRunReason>> = {
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  "not-found": "node-not-found",
  config: "config",
  tls: "config",
};

/** The not-run reason for an error that ended the Kubernetes branch. */
function notRunReason(error: unknown, fallback: NotRunReason): NotRunReason {
  const kind = kubeErrorKind(error);
  return PERMANENT_KINDS.has(kind) ? NOT_RUN_BY_KIND[kind] ?? fallback : "api-unreachable";
}

/** What the handler learned from its one quick look at the node. */
interface NodeView {
  info?: NodeInfo;
  previous?: HandledState;
}

/**
 * Create the handler.
 *
 * @example
 * ```ts
 * import { DEFAULT_ACTIONS } from "./policy.ts";
 * declare const deps: HandlerDeps, notice: import("./notice.ts").Notice;
 * const handler = createHandler(deps, { nodeName: "ip-10-0-0-1", dryRun: false, actions: DEFAULT_ACTIONS, detachAsg: true });
 * await handler.handle(notice);
 * ```
 */
export function createHandler(deps: HandlerDeps, options: HandlerOptions): Handler {
  const { logger } = deps;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? realSleep;
  const inFlight = new Set<Promise<unknown>>();
  let resolvedNode = options.nodeName;
  let identityCache: Identity | undefined;
  const stateReadMs = options.stateReadMs ?? STATE_READ_MS;
  const cordonWaitMs = options.cordonWaitMs ?? CORDON_WAIT_MS;
  const leadMs = options.maintenanceLeadMs ?? DEFAULT_MAINTENANCE_LEAD_MS;
  const scheduler = deps.scheduler ?? createScheduler({ now });
  // Announced in this process; the annotation says the same across restarts.
  const announced = new Set<string>();

  // A failed lookup is retried at the next call rather than cached forever.
  const lookupNode = cached(async () => {
    const own = options.ownPod!;
    const kube = await deps.kubeCore();
    const pod = await kube.getPod(own);
    if (!pod?.nodeName) {
      throw Object.assign(
        new Error(`pod ${own.namespace}/${own.name}: not found or not scheduled; set NODE_NAME`),
        { status: 404 },
      );
    }
    return resolvedNode = pod.nodeName;
  });
  function nodeName(): Promise<string> {
    return resolvedNode ? Promise.resolve(resolvedNode) : lookupNode();
  }

  async function identity(): Promise<Identity> {
    if (identityCache) return identityCache;
    try {
      return identityCache = await deps.identity();
    } catch (error) {
      logger.warn("could not read instance identity from IMDS", { error: message(error) });
      return UNKNOWN_IDENTITY;
    }
  }

  const send = (msg: Message) => sendMessage(deps.notifier, logger, msg);

  /** One `error` line for a permanent failure, naming the fix; counted by kind and step. */
  function permanent(step: string, error: unknown, context: { verb: string; resource: string }) {
    const kind = kubeErrorKind(error);
    // The request that failed names the grant better than the step that made it.
    const request = requestOf(message(error)) ?? context;
    const fix = kubeFix(kind, { ...request, kubeconfigPath: options.kubeconfigPath });
    deps.metrics?.inc("sth_kube_errors_total", { step, kind });
    logger.error(`${step} failed for good; not retrying`, { kind, error: message(error), fix });
    return `${message(error)} — fix: ${fix}`;
  }

  function retryOptions(deadline: Date, what: string) {
    return {
      deadline,
      now,
      sleep,
      retryable: (error: unknown) => !PERMANENT_KINDS.has(kubeErrorKind(error)),
      onError: (error: unknown, attempt: number) => {
        if (PERMANENT_KINDS.has(kubeErrorKind(error))) return;
        deps.metrics?.inc("sth_kube_errors_total", { step: what, kind: "transient" });
        logger.warn(`${what}: Kubernetes API call failed; retrying until the deadline`, {
          attempt,
          error: message(error),
        });
      },
    };
  }

  // The detacher's factory rejects an unknown region (IMDS identity unavailable); that must end
  // as a reported failure, not abort the handling of the notice.
  async function detach(idPromise: Promise<Identity>, dryRun: boolean): Promise<AsgResult> {
    const id = await idPromise;
    const region = options.awsRegion ?? id.region;
    try {
      return await deps.asg!(region).detach(id.instanceId, dryRun ? { dryRun } : undefined);
    } catch (error) {
      logger.error("cannot detach from the Auto Scaling group", { region, error: message(error) });
      return { status: "failed", message: message(error) };
    }
  }

  /**
   * One bounded look at the node: the annotation says whether this notice was handled before a
   * restart. When the API cannot answer within {@linkcode STATE_READ_MS}, handling goes on as if
   * it had not been (messages are at-least-once; `noticeId` lets receivers dedupe).
   */
  async function quickLook(notice: Notice): Promise<{ node: string; view: NodeView }> {
    const node = await withTimeout(nodeName(), stateReadMs).catch(() => undefined);
    if (!node) return { node: "unknown", view: {} };
    try {
      const info = await withTimeout(
        deps.kubeCore().then((core) => core.getNode(node)),
        stateReadMs,
      );
      return {
        node,
        view: { info, previous: parseHandledState(info.annotations[annotationKey(notice.kind)]) },
      };
    } catch (error) {
      logger.warn("could not read the node's handling state in time; acting anyway", {
        node,
        error: message(error),
      });
      return { node, view: {} };
    }
  }

  function state(notice: Notice, phase: HandledPhase, view: NodeView, plan: Step[]): string {
    const value: HandledState = {
      id: notice.id,
      phase,
      at: now().toISOString(),
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
      (cordoned && addsLbLabel(view.info));
    if (added) value.lbLabelAdded = true;
    return JSON.stringify(value);
  }

  function addsLbLabel(info: NodeInfo | undefined): boolean {
    return options.excludeFromLoadBalancers === true && info !== undefined &&
      !(LB_EXCLUSION_LABEL in info.labels);
  }

  /** Cordon, taint and mark the node `started`, retrying transient errors until the deadline. */
  async function cordon(
    notice: Notice,
    node: string,
    plan: Step[],
    view: NodeView,
  ): Promise<CordonReport | undefined> {
    const core = await deps.kubeCore();
    // The taint list is replaced by a merge patch, so it needs the node's current taints.
    const info = view.info ??
      await retryUntil(() => core.getNode(node), retryOptions(notice.deadline, "read node"));
    // The final mark records the same before-state (boot ID, cordon, label) as this one.
    view.info ??= info;
    const patch: NodePatch = {
      annotations: { [annotationKey(notice.kind)]: state(notice, "started", view, plan) },
    };
    if (plan.includes("cordon")) patch.unschedulable = true;
    if (plan.includes("taint")) patch.taints = withTaint(info.taints, notice.kind);
    // In the same PATCH as the cordon, so the node leaves the load balancers as it stops taking pods.
    const label = plan.includes("cordon") && addsLbLabel(info);
    if (label) patch.labels = { [LB_EXCLUSION_LABEL]: "true" };
    await retryUntil(() => core.patchNode(node, patch), retryOptions(notice.deadline, "cordon"));
    if (!plan.includes("cordon")) return undefined;
    logger.info("node cordoned and tainted", {
      node,
      taint: TAINT_KEY,
      excludedFromLoadBalancers: label || undefined,
    });
    return { status: "cordoned" };
  }

  function recordEvent(kube: Kube, node: string, notice: Notice, plan: Step[]): void {
    kube.createNodeEvent(node, {
      reason: "SpotTerminationNotice",
      type: "Warning",
      message: `${notice.kind} (${notice.action}); deadline ${notice.deadline.toISOString()}; ` +
        `plan: ${plan.join(", ") || "notify"}`,
    }).catch((error) => logger.warn("could not record an Event", { error: message(error) }));
  }

  /** Load the full client and drain; every failure ends as a tagged report, never a throw. */
  async function drain(
    notice: Notice,
    node: string,
    plan: Step[],
    resumed: boolean,
  ): Promise<DrainReport> {
    let kube: Kube;
    try {
      kube = await retryUntil(
        () => deps.kube(),
        retryOptions(notice.deadline, "load Kubernetes client"),
      );
    } catch (error) {
      return notRun(error, "api-unreachable", "drain", { verb: "list", resource: "pods" });
    }
    recordEvent(kube, node, notice, plan);
    try {
      const result = await deps.drainer(kube).drain(node, {
        deadline: notice.deadline,
        gracePeriodSeconds: options.gracePeriodSeconds,
        ownPod: options.ownPod,
      });
      // Evictions refused by RBAC fail every pod the same way: one error line with the fix.
      const forbidden = result.failed.find((f) => /^403\b/.test(f.reason));
      if (forbidden) {
        permanent("evict pods", new KubeError(forbidden.reason, { status: 403 }), {
          verb: "create",
          resource: "pods/eviction",
        });
      }
      return drainReport(result, { resumed });
    } catch (error) {
      return notRun(error, "pod-list-failed", "list pods", { verb: "list", resource: "pods" });
    }
  }

  function notRun(
    error: unknown,
    fallback: NotRunReason,
    step: string,
    context: { verb: string; resource: string },
  ): DrainReport {
    const reason = notRunReason(error, fallback);
    if (reason !== "api-unreachable") {
      return { status: "not-run", reason, message: permanent(step, error, context) };
    }
    logger.error(`${step}: Kubernetes API unreachable until the deadline`, {
      error: message(error),
    });
    return { status: "not-run", reason, message: message(error) };
  }

  /** The Kubernetes branch: cordon first (bounded wait), then drain with the normal grace. */
  async function kubeWork(
    notice: Notice,
    known: { node: string; view: NodeView },
    plan: Step[],
    resumed: boolean,
  ): Promise<{ node: string; cordon?: CordonReport; drain?: DrainReport }> {
    let node = known.node;
    if (node === "unknown") {
      try {
        node = await retryUntil(() => nodeName(), retryOptions(notice.deadline, "find node"));
      } catch (error) {
        const report = notRun(error, "node-not-found", "find node", {
          verb: "get",
          resource: "pods",
        });
        return { node, drain: plan.includes("drain") ? report : undefined };
      }
    }
    let cordonErrorKind: KubeErrorKind | undefined;
    const cordoned = cordon(notice, node, plan, known.view).catch(
      (error): CordonReport => {
        const kind = kubeErrorKind(error);
        cordonErrorKind = kind;
        const text = PERMANENT_KINDS.has(kind)
          ? permanent("cordon", error, { verb: "patch", resource: "nodes" })
          : message(error);
        if (!PERMANENT_KINDS.has(kind)) {
          logger.error("could not cordon the node before the deadline", { node, error: text });
        }
        return { status: "failed", message: text };
      },
    );
    // The drain starts once the cordon is through or failed for good, or after a bounded wait.
    const early = await withTimeout(cordoned, cordonWaitMs).catch(() => undefined);
    // A node the API does not know cannot be drained; listing "its" pods would find none and
    // report a drain that never happened.
    const missing = early?.status === "failed" && cordonErrorKind === "not-found";
    const drained = !plan.includes("drain") ? undefined : missing
      ? Promise.resolve<DrainReport>({
        status: "not-run",
        reason: "node-not-found",
        message: early!.message ?? `node ${node} not found`,
      })
      : drain(notice, node, plan, resumed);
    if (!drained) {
      // Events come with the full client; a notify/cordon-only plan does not load it.
      deps.kube().then((kube) => recordEvent(kube, node, notice, plan), () => {});
    }
    const [cordonReport, drainResult] = await Promise.all([cordoned, drained]);
    return {
      node,
      cordon: plan.includes("cordon") ? cordonReport : undefined,
      drain: drainResult,
    };
  }

  async function markFinal(
    notice: Notice,
    node: string,
    view: NodeView,
    plan: Step[],
    failed: boolean,
  ) {
    const phase = failed ? "failed" : "done";
    const core = await deps.kubeCore().catch(() => undefined);
    if (!core || node === "unknown") return;
    await retryUntil(
      () =>
        core.patchNode(node, {
          annotations: { [annotationKey(notice.kind)]: state(notice, phase, view, plan) },
        }),
      {
        ...retryOptions(
          new Date(Math.max(notice.deadline.getTime(), now().getTime() + 10_000)),
          "mark notice handled",
        ),
      },
    ).catch((error) =>
      logger.warn("could not mark the notice handled on the node", { error: message(error) })
    );
  }

  async function preview(notice: Notice, node: string): Promise<DrainReport> {
    try {
      const kube = await retryUntil(
        () => deps.kube(),
        retryOptions(notice.deadline, "load Kubernetes client"),
      );
      const pods = await retryUntil(
        () => kube.listPodsOnNode(node),
        retryOptions(notice.deadline, "list pods"),
      );
      const { evict, skipped } = selectPods(pods, { ownPod: options.ownPod });
      return {
        status: "dry-run",
        wouldEvict: evict.map((p) => `${p.namespace}/${p.name}`),
        skipped,
      };
    } catch (error) {
      return notRun(error, "pod-list-failed", "list pods", { verb: "list", resource: "pods" });
    }
  }

  async function dryRun(
    notice: Notice,
    node: string,
    plan: Step[],
    base: Omit<Message, "phase">,
    idPromise: Promise<Identity>,
    wasAnnounced: boolean,
  ) {
    logger.info("DRY RUN: would act on the node; changing nothing", {
      node,
      plan: plan.join(",") || "notify",
    });
    const started = wasAnnounced ? Promise.resolve() : send({ phase: "start", ...base } as Message);
    const report: HandlingReport = {};
    const [drain, asg] = await Promise.all([
      plan.includes("drain") ? preview(notice, node) : undefined,
      plan.includes("detach-asg") && deps.asg ? detach(idPromise, true) : undefined,
    ]);
    if (drain) report.drain = drain;
    if (asg) report.asg = asg;
    // The notifier keeps start before result per target; a slow target holds only its own.
    await Promise.all([started, send({ phase: "result", ...base, report } as Message)]);
    return report;
  }

  /**
   * A maintenance event seen before its action time: the start message (with the time the cordon
   * and drain begin) and the annotation `announced` once, then a timer. A restart finds the
   * annotation and only sets the timer again.
   */
  async function announce(
    notice: Notice,
    known: { node: string; view: NodeView },
    base: Omit<Extract<Message, { phase: "start" }>, "phase">,
    alreadyAnnounced: boolean,
  ): Promise<undefined> {
    const at = actionTime(notice, leadMs);
    if (!alreadyAnnounced) {
      await send({ phase: "start", ...base, actionAt: at });
      if (!options.dryRun) await markAnnounced(notice, known);
    }
    announced.add(notice.id);
    // The timer is the clock's word that the time has come: no second look at a clock that may
    // lag a millisecond behind it.
    scheduler.at(notice, at, () => void handle(notice, true));
    logger.info("maintenance announced; cordon and drain begin at its action time", {
      node: known.node,
      id: notice.id,
      code: notice.action,
      notBefore: notice.noticeTime.toISOString(),
      actionAt: at.toISOString(),
      again: alreadyAnnounced || undefined,
    });
    return undefined;
  }

  async function markAnnounced(notice: Notice, known: { node: string; view: NodeView }) {
    const previous = known.view.previous;
    // Never overwrite another event's record while its cordon is in force: the node's return
    // needs it. The timer in this process still holds the new event.
    const inForce = previous && previous.id !== notice.id && previous.cordoned &&
      ["started", "done", "failed"].includes(previous.phase);
    const core = await deps.kubeCore().catch(() => undefined);
    if (!core || known.node === "unknown" || inForce) return;
    const value = state(notice, "announced", {}, []);
    await retryUntil(
      () => core.patchNode(known.node, { annotations: { [annotationKey(notice.kind)]: value } }),
      retryOptions(new Date(now().getTime() + 10_000), "mark maintenance announced"),
    ).catch((error) =>
      logger.warn("could not mark the maintenance event announced on the node", {
        error: message(error),
      })
    );
  }

  async function run(notice: Notice, due: boolean): Promise<HandlingReport | undefined> {
    const plan = planFor(notice, options);
    const early = !due && notice.kind === "scheduled-maintenance" && !isDue(notice, now(), leadMs);
    if (!announced.has(notice.id)) deps.metrics?.inc("sth_notices_total", { kind: notice.kind });
    // The monitor already logged the notice itself; this line says what will be done about it.
    logger.info(early ? "maintenance event ahead of its action time" : "handling notice", {
      kind: notice.kind,
      plan: plan.length ? plan.join(",") : "notify",
      dryRun: options.dryRun || undefined,
    });
    if (notice.kind === "rebalance-recommendation") {
      // AWS usually sends a rebalance recommendation minutes before an interruption: start the
      // import of the full client now, beside the node read, so that a later spot notice's drain
      // finds it loaded (measured: first eviction ~0.9 s sooner; see README, Performance). An
      // idle handler never pays it; a failure here is retried by whoever needs the client.
      deps.kube().catch(() => {});
    }
    const idPromise = identity();
    const [id, known] = await Promise.all([
      withTimeout(idPromise, stateReadMs).catch(() => UNKNOWN_IDENTITY),
      quickLook(notice),
    ]);
    const previous = known.view.previous;
    if (previous?.id === notice.id && FINAL_PHASES.has(previous.phase)) {
      logger.info("notice already handled before a restart; nothing to do", {
        node: known.node,
        id: notice.id,
        phase: previous.phase,
      });
      return undefined;
    }
    const resumed = previous?.id === notice.id && previous.phase === "started";
    const wasAnnounced = announced.has(notice.id) ||
      (previous?.id === notice.id && previous.phase === "announced");
    if (resumed) {
      logger.info("resuming a notice a previous run started", { node: known.node, id: notice.id });
    }

    const context: NotifyContext = {
      cluster: options.cluster,
      node: known.node,
      instanceId: id.instanceId,
      instanceType: id.instanceType,
      availabilityZone: id.availabilityZone,
      region: id.region,
    };
    const base = { notice, context, dryRun: options.dryRun, plan };
    if (early && !resumed) return await announce(notice, known, base, wasAnnounced);
    if (options.dryRun) {
      return await dryRun(notice, known.node, plan, base, idPromise, wasAnnounced);
    }

    // Three independent branches: nothing here waits for the Kubernetes API.
    const started = resumed || wasAnnounced ? Promise.resolve() : send({ phase: "start", ...base });
    const asgPromise = plan.includes("detach-asg") && deps.asg
      ? detach(idPromise, false)
      : Promise.resolve(undefined);
    const kubePromise = kubeWork(notice, known, plan, resumed).catch((error) => {
      logger.error("unexpected failure in the Kubernetes steps", { error: message(error) });
      return {
        node: known.node,
        drain: plan.includes("drain")
          ? {
            status: "not-run" as const,
            reason: "internal-error" as const,
            message: message(error),
          }
          : undefined,
        cordon: undefined,
      };
    });
    const [k, asg] = await Promise.all([kubePromise, asgPromise]);
    const report: HandlingReport = {};
    if (k.cordon) report.cordon = k.cordon;
    if (k.drain) report.drain = k.drain;
    if (asg) report.asg = asg;

    await Promise.all([
      started,
      send({ phase: "result", ...base, context: { ...context, node: k.node }, report }),
    ]);
    const failed = k.drain?.status === "not-run" || k.cordon?.status === "failed";
    await markFinal(notice, k.node, known.view, plan, failed);
    logNotice(notice, k.node, report);
    return report;
  }

  function logNotice(notice: Notice, node: string, report: HandlingReport) {
    const d = report.drain;
    const fields = {
      node,
      kind: notice.kind,
      drain: d?.status,
      evicted: d && "evicted" in d ? d.evicted.length : undefined,
      remaining: d && "remaining" in d ? d.remaining.length : undefined,
      failed: d && "failed" in d ? d.failed.length : undefined,
      reason: d?.status === "not-run" ? d.reason : undefined,
      cordon: report.cordon?.status,
      asg: report.asg?.status,
    };
    if (d?.status === "not-run" || report.cordon?.status === "failed") {
      logger.error("notice handled, but the drain did not run", fields);
    } else if (d?.status === "partial") logger.warn("notice handled with pods left", fields);
    else logger.info("notice handled", fields);
  }

  function handle(notice: Notice, due = false): Promise<HandlingReport | undefined> {
    const p = run(notice, due).catch((error) => {
      logger.error("unexpected failure while handling a notice", {
        kind: notice.kind,
        error: message(error),
      });
      return undefined;
    });
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    return p;
  }

  return {
    nodeName,
    handle: (notice) => handle(notice),
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    busy: () => inFlight.size > 0,
  };
}
