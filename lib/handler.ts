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
 * The steps, in the order the data flows: the shared context (handler_context.ts), the quick look
 * at the node and its annotation phases (handler_node.ts, over handler_state.ts), then one of
 * three ways on: announce a maintenance event ahead of its time (handler_announce.ts), a dry run,
 * or the three branches, whose Kubernetes one is handler_kube.ts; the messages and the closing
 * log line are handler_messages.ts's.
 *
 * @module
 */

import { announce } from "./handler_announce.ts";
import {
  createContext,
  errorText,
  type HandlerContext,
  type HandlerDeps,
  type HandlerOptions,
  UNKNOWN_IDENTITY,
} from "./handler_context.ts";
import { kubeWork, preview } from "./handler_kube.ts";
import {
  handlingFailed,
  handlingReport,
  type KubeOutcome,
  logOutcome,
  type MessageBase,
  messageBase,
} from "./handler_messages.ts";
import { type KnownNode, markFinal, quickLook } from "./handler_node.ts";
import { FINAL_PHASES } from "./handler_state.ts";
import type { Identity } from "./imds.ts";
import { isDue } from "./maintenance.ts";
import type { Notice } from "./notice.ts";
import type { Message } from "./notify_message.ts";
import { planFor, type Step } from "./policy.ts";
import type { AsgResult, HandlingReport } from "./report.ts";
import { withTimeout } from "./_async.ts";

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

/**
 * Create the handler.
 *
 * @example
 * ```ts
 * import { DEFAULT_ACTIONS } from "./policy.ts";
 * declare const deps: import("./handler_context.ts").HandlerDeps;
 * declare const notice: import("./notice.ts").Notice;
 * const handler = createHandler(deps, { nodeName: "ip-10-0-0-1", dryRun: false, actions: DEFAULT_ACTIONS, detachAsg: true });
 * await handler.handle(notice);
 * ```
 */
export function createHandler(deps: HandlerDeps, options: HandlerOptions): Handler {
  const ctx = createContext(deps, options);
  const inFlight = new Set<Promise<unknown>>();

  function handle(notice: Notice, due = false): Promise<HandlingReport | undefined> {
    const p = run(ctx, notice, due, (n) => void handle(n, true)).catch((error) => {
      ctx.logger.error("unexpected failure while handling a notice", {
        kind: notice.kind,
        error: errorText(error),
      });
      return undefined;
    });
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    return p;
  }

  return {
    nodeName: ctx.nodeName,
    handle: (notice) => handle(notice),
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    busy: () => inFlight.size > 0,
  };
}

/** One notice, as the handler works on it once it has looked at the node. */
interface Job {
  notice: Notice;
  plan: Step[];
  known: KnownNode;
  base: MessageBase;
  idPromise: Promise<Identity>;
  /** A previous run started this notice: no second start message. */
  resumed: boolean;
  /** The start message went out already, as an announcement. */
  wasAnnounced: boolean;
}

/** Plan, look at the node, then announce, dry-run or act; `whenDue` takes an announced event back. */
async function run(
  ctx: HandlerContext,
  notice: Notice,
  due: boolean,
  whenDue: (notice: Notice) => void,
): Promise<HandlingReport | undefined> {
  const plan = planFor(notice, ctx.options);
  const early = !due && notice.kind === "scheduled-maintenance" &&
    !isDue(notice, ctx.now(), ctx.leadMs);
  begin(ctx, notice, plan, early);
  const idPromise = ctx.identity();
  const [id, known] = await Promise.all([
    withTimeout(idPromise, ctx.stateReadMs).catch(() => UNKNOWN_IDENTITY),
    quickLook(ctx, notice),
  ]);
  const history = pastRuns(ctx, notice, known);
  if (!history) return undefined;
  const { cluster, dryRun } = ctx.options;
  const base = messageBase(notice, plan, { cluster, node: known.node, dryRun }, id);
  const job: Job = { notice, plan, known, base, idPromise, ...history };
  if (early && !job.resumed) return await announce(ctx, job, whenDue);
  return await once(ctx, job, () => dryRun ? dryRunJob(ctx, job) : act(ctx, job));
}

/**
 * Act on a notice at most once at a time. A maintenance event can reach the handler again under
 * the same id (rescheduled: a new NotBefore), and its older timer may still be set.
 */
async function once(
  ctx: HandlerContext,
  { notice }: Job,
  work: () => Promise<HandlingReport>,
): Promise<HandlingReport | undefined> {
  if (ctx.acting.has(notice.id)) {
    ctx.logger.info("notice already being handled", { id: notice.id });
    return undefined;
  }
  // Acting now (due, or rescheduled into its lead): an older timer must not act again.
  ctx.scheduler.cancel(notice.id);
  ctx.acting.add(notice.id);
  try {
    return await work();
  } finally {
    ctx.acting.delete(notice.id);
  }
}

/** Count the notice and say what will be done about it. */
function begin(ctx: HandlerContext, notice: Notice, plan: Step[], early: boolean): void {
  if (!ctx.announced.has(notice.id)) {
    ctx.deps.metrics?.inc("sth_notices_total", { kind: notice.kind });
  }
  // The monitor already logged the notice itself; this line says what will be done about it.
  ctx.logger.info(early ? "maintenance event ahead of its action time" : "handling notice", {
    kind: notice.kind,
    plan: plan.length ? plan.join(",") : "notify",
    dryRun: ctx.options.dryRun || undefined,
  });
  if (notice.kind === "rebalance-recommendation") {
    // AWS usually sends a rebalance recommendation minutes before an interruption: get the
    // drain's client ready now. Over fetch that is only the connection; with a kubeconfig that
    // needs @kubernetes/client-node (exec plugins) it starts that import, so a later spot
    // notice's drain finds it loaded. A failure here is retried by whoever needs the client.
    ctx.deps.kube().catch(() => {});
    // Likewise the AWS SDK, whose import would otherwise hold the event loop at the spot notice,
    // beside the cordon, when that notice's plan detaches.
    const spotPlan = planFor({ ...notice, kind: "spot-interruption" }, ctx.options);
    if (ctx.deps.asg && spotPlan.includes("detach-asg")) ctx.deps.warmAsg?.().catch(() => {});
  }
}

/** What earlier runs did with this notice; undefined when one finished it. */
function pastRuns(
  ctx: HandlerContext,
  notice: Notice,
  known: KnownNode,
): { resumed: boolean; wasAnnounced: boolean } | undefined {
  const previous = known.view.previous;
  if (previous?.id === notice.id && FINAL_PHASES.has(previous.phase)) {
    ctx.logger.info("notice already handled before a restart; nothing to do", {
      node: known.node,
      id: notice.id,
      phase: previous.phase,
    });
    return undefined;
  }
  const resumed = previous?.id === notice.id && previous.phase === "started";
  const wasAnnounced = ctx.announced.has(notice.id) ||
    (previous?.id === notice.id && previous.phase === "announced");
  if (resumed) {
    ctx.logger.info("resuming a notice a previous run started", {
      node: known.node,
      id: notice.id,
    });
  }
  return { resumed, wasAnnounced };
}

/** The three branches, then the result message, the final mark and the closing log line. */
async function act(ctx: HandlerContext, job: Job): Promise<HandlingReport> {
  const { notice, plan, base } = job;
  // Three independent branches: nothing here waits for the Kubernetes API.
  const started = job.resumed || job.wasAnnounced
    ? Promise.resolve()
    : ctx.send({ phase: "start", ...base });
  const asgPromise = plan.includes("detach-asg") && ctx.deps.asg
    ? detach(ctx, job.idPromise, false)
    : Promise.resolve(undefined);
  const kubePromise = kubeBranch(ctx, job);
  const [k, asg] = await Promise.all([kubePromise, asgPromise]);
  const report = handlingReport(k, asg);

  await Promise.all([
    started,
    ctx.send({ phase: "result", ...base, context: { ...base.context, node: k.node }, report }),
  ]);
  const final = { node: k.node, view: job.known.view };
  await markFinal(ctx, notice, final, plan, handlingFailed(report));
  logOutcome(ctx.logger, notice, k.node, report);
  return report;
}

/** The Kubernetes branch; a bug in it still ends as a report, not a lost result message. */
function kubeBranch(ctx: HandlerContext, job: Job): Promise<KubeOutcome> {
  return kubeWork(ctx, job, job.known).catch((error) => {
    ctx.logger.error("unexpected failure in the Kubernetes steps", { error: errorText(error) });
    return {
      node: job.known.node,
      drain: job.plan.includes("drain")
        ? {
          status: "not-run" as const,
          reason: "internal-error" as const,
          message: errorText(error),
        }
        : undefined,
      cordon: undefined,
    };
  });
}

// The detacher's factory rejects an unknown region (IMDS identity unavailable); that must end
// as a reported failure, not abort the handling of the notice.
async function detach(
  ctx: HandlerContext,
  idPromise: Promise<Identity>,
  dryRun: boolean,
): Promise<AsgResult> {
  const id = await idPromise;
  const region = ctx.options.awsRegion ?? id.region;
  try {
    return await ctx.deps.asg!(region).detach(id.instanceId, dryRun ? { dryRun } : undefined);
  } catch (error) {
    ctx.logger.error("cannot detach from the Auto Scaling group", {
      region,
      error: errorText(error),
    });
    return { status: "failed", message: errorText(error) };
  }
}

/** DRY_RUN: the start message, the drain's preview and the detach's dry run, then the result. */
async function dryRunJob(ctx: HandlerContext, job: Job): Promise<HandlingReport> {
  const { notice, plan, base, known: { node } } = job;
  ctx.logger.info("DRY RUN: would act on the node; changing nothing", {
    node,
    plan: plan.join(",") || "notify",
  });
  const started = job.wasAnnounced
    ? Promise.resolve()
    : ctx.send({ phase: "start", ...base } as Message);
  const report: HandlingReport = {};
  const [drain, asg] = await Promise.all([
    plan.includes("drain") ? preview(ctx, notice, node) : undefined,
    plan.includes("detach-asg") && ctx.deps.asg ? detach(ctx, job.idPromise, true) : undefined,
  ]);
  if (drain) report.drain = drain;
  if (asg) report.asg = asg;
  // The notifier keeps start before result per target; a slow target holds only its own.
  await Promise.all([started, ctx.send({ phase: "result", ...base, report } as Message)]);
  return report;
}
