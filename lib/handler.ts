/**
 * One notice → plan → steps: annotate/taint/cordon → notify(start) → drain ∥ ASG detach →
 * notify(result). The node annotation makes this idempotent across restarts: a restarted handler
 * resumes an unfinished drain without re-sending the start message, and skips a finished one.
 *
 * @module
 */

import type { RebalanceAction } from "./config.ts";
import type { AsgDetacher } from "./asg.ts";
import type { Drainer } from "./drain.ts";
import { selectPods } from "./drain.ts";
import type { Identity } from "./imds.ts";
import type { Kube, PodRef, Taint } from "./kube.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { Notice } from "./notice.ts";
import type { Message, Notifier, NotifyContext } from "./notify.ts";
import { planFor, type Step } from "./policy.ts";
import type { AsgResult, DrainResult, HandlingReport } from "./report.ts";
import { realSleep, retryUntil, type Sleep } from "./retry.ts";

/** Annotation prefix; one key per notice kind so a rebalance and a spot notice do not collide. */
export const ANNOTATION_PREFIX = "spot-termination-handler";
/** Taint key put on a node that is about to go away. */
export const TAINT_KEY = "spot-termination-handler/notice";

/** What the node annotation records about a notice. */
export interface HandledState {
  id: string;
  phase: "started" | "done";
  at: string;
}

/** Side effects the handler needs; all replaceable by fakes. */
export interface HandlerDeps {
  /** Loads the Kubernetes client on first use (lazy import keeps the idle process small). */
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
}

/** Options of {@linkcode createHandler}. */
export interface HandlerOptions {
  nodeName?: string;
  ownPod?: PodRef;
  cluster?: string;
  dryRun: boolean;
  rebalanceAction: RebalanceAction;
  detachAsg: boolean;
  gracePeriodSeconds?: number;
  awsRegion?: string;
}

/** Acts on notices. */
export interface Handler {
  /** Handle one notice; never rejects. Resolves with what was done (undefined when skipped). */
  handle(notice: Notice): Promise<HandlingReport | undefined>;
  /** The node this handler acts on, looked up from its own pod when NODE_NAME is unset. */
  nodeName(): Promise<string>;
  /** Resolves when every notice in flight is finished. */
  settled(): Promise<void>;
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

/** Parse an annotation value; anything unreadable counts as "not handled". */
export function parseHandledState(value: string | undefined): HandledState | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value);
    if (typeof v?.id === "string" && (v.phase === "started" || v.phase === "done")) return v;
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

/**
 * Create the handler.
 *
 * @example
 * ```ts
 * const handler = createHandler(deps, { nodeName: "ip-10-0-0-1", dryRun: false, rebalanceAction: "notify", detachAsg: true });
 * await handler.handle(notice);
 * ```
 */
export function createHandler(deps: HandlerDeps, options: HandlerOptions): Handler {
  const { logger } = deps;
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? realSleep;
  const inFlight = new Set<Promise<unknown>>();
  let nodePromise: Promise<string> | undefined;
  let identityCache: Identity | undefined;

  function nodeName(): Promise<string> {
    if (options.nodeName) return Promise.resolve(options.nodeName);
    nodePromise ??= (async () => {
      const own = options.ownPod!;
      const kube = await deps.kube();
      const pod = await kube.getPod(own);
      if (!pod?.nodeName) {
        throw new Error(
          `pod ${own.namespace}/${own.name}: not found or not scheduled; set NODE_NAME`,
        );
      }
      return pod.nodeName;
    })();
    // A failed lookup is retried at the next call rather than cached forever.
    nodePromise.catch(() => nodePromise = undefined);
    return nodePromise;
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

  async function send(msg: Message): Promise<void> {
    if (deps.notifier.targets.length === 0) return;
    const outcomes = await deps.notifier.send(msg);
    const failed = outcomes.filter((o) => !o.ok).map((o) => o.target);
    if (failed.length > 0) {
      logger.warn(`${msg.phase} message not delivered to every target`, { failed });
    }
  }

  // The detacher's factory rejects an unknown region (IMDS identity unavailable); that must end
  // as a reported failure, not abort the handling of the notice.
  function detach(id: Identity, dryRun: boolean): Promise<AsgResult> {
    const region = options.awsRegion ?? id.region;
    try {
      return deps.asg!(region).detach(id.instanceId, dryRun ? { dryRun } : undefined);
    } catch (error) {
      logger.error("cannot detach from the Auto Scaling group", { region, error: message(error) });
      return Promise.resolve({ status: "failed", message: message(error) });
    }
  }

  async function preview(kube: Kube, node: string): Promise<DrainResult> {
    const pods = await kube.listPodsOnNode(node);
    const { evict, skipped } = selectPods(pods, { ownPod: options.ownPod });
    return {
      evicted: [],
      remaining: evict.map((p) => ({
        pod: `${p.namespace}/${p.name}`,
        reason: "dry run: would be evicted",
      })),
      failed: [],
      skipped,
    };
  }

  async function run(notice: Notice): Promise<HandlingReport | undefined> {
    deps.metrics?.inc("sth_notices_total", { kind: notice.kind });
    const plan = planFor(notice, options);
    // The monitor already logged the notice itself; this line says what will be done about it.
    logger.info("handling notice", {
      kind: notice.kind,
      plan: plan.length ? plan.join(",") : "notify",
      dryRun: options.dryRun || undefined,
    });
    const id = await identity();
    const retry = {
      deadline: notice.deadline,
      now,
      sleep,
      onError: (error: unknown, attempt: number) =>
        logger.warn("Kubernetes API call failed; retrying until the deadline", {
          attempt,
          error: message(error),
        }),
    };

    let kube: Kube | undefined;
    let node = options.nodeName ?? "unknown";
    let previous: HandledState | undefined;
    let annotations: Record<string, string> = {};
    let taints: Taint[] = [];
    try {
      kube = await retryUntil(() => deps.kube(), retry);
      node = await retryUntil(() => nodeName(), retry);
      const info = await retryUntil(() => kube!.getNode(node), retry);
      annotations = info.annotations;
      taints = info.taints;
      previous = parseHandledState(annotations[annotationKey(notice.kind)]);
    } catch (error) {
      // Without the API nothing can be cordoned, but people must still hear about the notice.
      logger.error("Kubernetes API unreachable; notifying only", { error: message(error) });
      kube = undefined;
    }

    if (previous?.id === notice.id && previous.phase === "done") {
      logger.info("notice already handled before a restart; nothing to do", {
        node,
        id: notice.id,
      });
      return undefined;
    }
    const resumed = previous?.id === notice.id;
    if (resumed) logger.info("resuming a notice a previous run started", { node, id: notice.id });

    const context: NotifyContext = {
      cluster: options.cluster,
      node,
      instanceId: id.instanceId,
      instanceType: id.instanceType,
      availabilityZone: id.availabilityZone,
      region: id.region,
    };
    const base = { notice, context, dryRun: options.dryRun, plan };
    const has = (step: Step) => plan.includes(step);

    if (options.dryRun) {
      logger.info("DRY RUN: would act on the node; changing nothing", {
        node,
        plan: plan.join(",") || "notify",
      });
      const started = send({ phase: "start", ...base });
      const report: HandlingReport = {};
      if (has("drain") && kube) report.drain = await preview(kube, node).catch(() => undefined);
      if (has("detach-asg") && deps.asg) {
        report.asg = await detach(id, true);
      }
      await started;
      await send({ phase: "result", ...base, report });
      return report;
    }

    const state = (phase: HandledState["phase"]) =>
      JSON.stringify({ id: notice.id, phase, at: now().toISOString() });
    let cordoned = false;
    if (kube) {
      const patch: Parameters<Kube["patchNode"]>[1] = {
        annotations: { [annotationKey(notice.kind)]: state("started") },
      };
      if (has("cordon")) patch.unschedulable = true;
      if (has("taint")) patch.taints = withTaint(taints, notice.kind);
      try {
        await retryUntil(() => kube!.patchNode(node, patch), retry);
        cordoned = has("cordon");
        if (cordoned) logger.info("node cordoned and tainted", { node, taint: TAINT_KEY });
      } catch (error) {
        logger.error("could not cordon the node; continuing with the drain", {
          node,
          error: message(error),
        });
      }
      kube.createNodeEvent(node, {
        reason: "SpotTerminationNotice",
        type: "Warning",
        message: `${notice.kind} (${notice.action}); deadline ${notice.deadline.toISOString()}; ` +
          `plan: ${plan.join(", ") || "notify"}`,
      }).catch((error) => logger.warn("could not record an Event", { error: message(error) }));
    }

    // The start message goes out while the drain runs: a slow webhook must not cost pods time.
    const started = resumed ? Promise.resolve() : send({ phase: "start", ...base });
    const drainPromise: Promise<DrainResult | undefined> = has("drain") && kube
      ? deps.drainer(kube).drain(node, {
        deadline: notice.deadline,
        gracePeriodSeconds: options.gracePeriodSeconds,
        ownPod: options.ownPod,
      })
      : Promise.resolve(undefined);
    const asgPromise: Promise<AsgResult | undefined> = has("detach-asg") && deps.asg
      ? detach(id, false)
      : Promise.resolve(undefined);
    const [drain, asg] = await Promise.all([drainPromise, asgPromise]);
    const report: HandlingReport = {};
    if (drain) report.drain = drain;
    if (asg) report.asg = asg;
    if (has("drain") && !kube) {
      report.drain = { evicted: [], remaining: [], failed: [], skipped: [] };
    }

    await started;
    await send({ phase: "result", ...base, report });
    if (kube) {
      await retryUntil(
        () =>
          kube!.patchNode(node, { annotations: { [annotationKey(notice.kind)]: state("done") } }),
        {
          ...retry,
          deadline: new Date(Math.max(notice.deadline.getTime(), now().getTime() + 10_000)),
        },
      ).catch((error) =>
        logger.warn("could not mark the notice handled on the node", { error: message(error) })
      );
    }
    logger.info("notice handled", {
      node,
      kind: notice.kind,
      evicted: drain?.evicted.length,
      remaining: drain?.remaining.length,
      failed: drain?.failed.length,
      asg: asg?.status,
    });
    return report;
  }

  return {
    nodeName,
    handle(notice) {
      const p = run(notice).catch((error) => {
        logger.error("unexpected failure while handling a notice", {
          kind: notice.kind,
          error: message(error),
        });
        return undefined;
      });
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
      return p;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
