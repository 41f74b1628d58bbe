/**
 * The Kubernetes branch of a notice, in the order it runs: find the node, cordon it (one merge
 * PATCH that cordons, taints, labels and marks it `started`, through the small fetch client),
 * wait for that at most `CORDON_WAIT_MS` (handler_context.ts), then drain through the drain's
 * client (`deps.kube`).
 * Every failure ends as a tagged report; the dry run's preview lists the pods instead.
 *
 * @module
 */

import { selectPods } from "./drain.ts";
import { errorText, type HandlerContext } from "./handler_context.ts";
import { kubeRetry, notRun, permanent } from "./handler_errors.ts";
import type { KubeOutcome } from "./handler_messages.ts";
import { type KnownNode, stateOf } from "./handler_node.ts";
import {
  addsLbLabel,
  annotationKey,
  LB_EXCLUSION_LABEL,
  type NodeView,
  TAINT_KEY,
  withTaint,
} from "./handler_state.ts";
import type { Kube, NodePatch } from "./kube.ts";
import { KubeError, type KubeErrorKind, kubeErrorKind, PERMANENT_KINDS } from "./kube_errors.ts";
import type { Notice } from "./notice.ts";
import type { Step } from "./policy.ts";
import { type CordonReport, type DrainReport, drainReport } from "./report.ts";
import { retryUntil, withTimeout } from "./_async.ts";

/** What one notice's Kubernetes branch works from. */
export interface KubeJob {
  notice: Notice;
  plan: Step[];
  /** A notice a previous run started: the drain report says so. */
  resumed: boolean;
}

/** The Kubernetes branch: cordon first (bounded wait), then drain with the normal grace. */
export async function kubeWork(
  ctx: HandlerContext,
  job: KubeJob,
  known: KnownNode,
): Promise<KubeOutcome> {
  const node = known.node === "unknown" ? await findNode(ctx, job) : known.node;
  if (typeof node !== "string") return node;
  let cordonErrorKind: KubeErrorKind | undefined;
  const cordoned = cordon(ctx, job, node, known.view).catch((error): CordonReport => {
    cordonErrorKind = kubeErrorKind(error);
    return cordonFailed(ctx, node, error);
  });
  // The drain starts once the cordon is through or failed for good, or after a bounded wait.
  const early = await withTimeout(cordoned, ctx.cordonWaitMs).catch(() => undefined);
  // A node the API does not know cannot be drained; listing "its" pods would find none and
  // report a drain that never happened.
  const missing = early?.status === "failed" && cordonErrorKind === "not-found";
  const drained = !job.plan.includes("drain") ? undefined : missing
    ? Promise.resolve<DrainReport>({
      status: "not-run",
      reason: "node-not-found",
      message: early!.message ?? `node ${node} not found`,
    })
    : drain(ctx, job, node);
  if (!drained) {
    // Events go through the drain's client; a notify/cordon-only plan never makes it.
    ctx.deps.kube().then((kube) => recordEvent(ctx, kube, node, job), () => {});
  }
  const [cordonReport, drainResult] = await Promise.all([cordoned, drained]);
  return {
    node,
    cordon: job.plan.includes("cordon") ? cordonReport : undefined,
    drain: drainResult,
  };
}

/** The node the quick look could not name, until the deadline; or the outcome that ends here. */
async function findNode(ctx: HandlerContext, job: KubeJob): Promise<string | KubeOutcome> {
  try {
    return await retryUntil(() => ctx.nodeName(), kubeRetry(ctx, job.notice.deadline, "find node"));
  } catch (error) {
    const report = notRun(ctx, error, "node-not-found", "find node", {
      verb: "get",
      resource: "pods",
    });
    return { node: "unknown", drain: job.plan.includes("drain") ? report : undefined };
  }
}

/** Cordon, taint and mark the node `started`, retrying transient errors until the deadline. */
async function cordon(
  ctx: HandlerContext,
  { notice, plan }: KubeJob,
  node: string,
  view: NodeView,
): Promise<CordonReport | undefined> {
  const core = await ctx.deps.kubeCore();
  // The taint list is replaced by a merge patch, so it needs the node's current taints.
  const info = view.info ??
    await retryUntil(() => core.getNode(node), kubeRetry(ctx, notice.deadline, "read node"));
  // The final mark records the same before-state (boot ID, cordon, label) as this one.
  view.info ??= info;
  const patch: NodePatch = {
    annotations: { [annotationKey(notice.kind)]: stateOf(ctx, notice, "started", view, plan) },
  };
  if (plan.includes("cordon")) patch.unschedulable = true;
  if (plan.includes("taint")) patch.taints = withTaint(info.taints, notice.kind);
  // In the same PATCH as the cordon, so the node leaves the load balancers as it stops taking pods.
  const label = plan.includes("cordon") && addsLbLabel(ctx.options.excludeFromLoadBalancers, info);
  if (label) patch.labels = { [LB_EXCLUSION_LABEL]: "true" };
  await retryUntil(() => core.patchNode(node, patch), kubeRetry(ctx, notice.deadline, "cordon"));
  if (!plan.includes("cordon")) return undefined;
  ctx.logger.info("node cordoned and tainted", {
    node,
    taint: TAINT_KEY,
    excludedFromLoadBalancers: label || undefined,
  });
  return { status: "cordoned" };
}

/** The cordon's report when it failed: permanent errors name the fix, others the deadline. */
function cordonFailed(ctx: HandlerContext, node: string, error: unknown): CordonReport {
  const kind = kubeErrorKind(error);
  const text = PERMANENT_KINDS.has(kind)
    ? permanent(ctx, "cordon", error, { verb: "patch", resource: "nodes" })
    : errorText(error);
  if (!PERMANENT_KINDS.has(kind)) {
    ctx.logger.error("could not cordon the node before the deadline", { node, error: text });
  }
  return { status: "failed", message: text };
}

function recordEvent(ctx: HandlerContext, kube: Kube, node: string, job: KubeJob): void {
  const { notice, plan } = job;
  kube.createNodeEvent(node, {
    reason: "SpotTerminationNotice",
    type: "Warning",
    message: `${notice.kind} (${notice.action}); deadline ${notice.deadline.toISOString()}; ` +
      `plan: ${plan.join(", ") || "notify"}`,
  }).catch((error) => ctx.logger.warn("could not record an Event", { error: errorText(error) }));
}

/** Get the drain's client and drain; every failure ends as a tagged report, never a throw. */
async function drain(ctx: HandlerContext, job: KubeJob, node: string): Promise<DrainReport> {
  let kube: Kube;
  try {
    kube = await loadKube(ctx, job.notice);
  } catch (error) {
    return notRun(ctx, error, "api-unreachable", "drain", { verb: "list", resource: "pods" });
  }
  recordEvent(ctx, kube, node, job);
  try {
    const result = await ctx.deps.drainer(kube).drain(node, {
      deadline: job.notice.deadline,
      gracePeriodSeconds: ctx.options.gracePeriodSeconds,
      ownPod: ctx.options.ownPod,
    });
    // Evictions refused by RBAC fail every pod the same way: one error line with the fix.
    const forbidden = result.failed.find((f) => /^403\b/.test(f.reason));
    if (forbidden) {
      permanent(ctx, "evict pods", new KubeError(forbidden.reason, { status: 403 }), {
        verb: "create",
        resource: "pods/eviction",
      });
    }
    return drainReport(result, { resumed: job.resumed });
  } catch (error) {
    return notRun(ctx, error, "pod-list-failed", "list pods", { verb: "list", resource: "pods" });
  }
}

/** The dry run's drain: the pods it would evict and those it would leave, changing nothing. */
export async function preview(
  ctx: HandlerContext,
  notice: Notice,
  node: string,
): Promise<DrainReport> {
  try {
    const kube = await loadKube(ctx, notice);
    const pods = await retryUntil(
      () => kube.listPodsOnNode(node),
      kubeRetry(ctx, notice.deadline, "list pods"),
    );
    const { evict, skipped } = selectPods(pods, { ownPod: ctx.options.ownPod });
    return {
      status: "dry-run",
      wouldEvict: evict.map((p) => `${p.namespace}/${p.name}`),
      skipped,
    };
  } catch (error) {
    return notRun(ctx, error, "pod-list-failed", "list pods", { verb: "list", resource: "pods" });
  }
}

function loadKube(ctx: HandlerContext, notice: Notice): Promise<Kube> {
  return retryUntil(
    () => ctx.deps.kube(),
    kubeRetry(ctx, notice.deadline, "load Kubernetes client"),
  );
}
