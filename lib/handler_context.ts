/**
 * What every step of the handler shares: its side effects, its options with their defaults
 * resolved, the node name and instance identity looked up once, and the set of maintenance events
 * announced in this process. The steps take this one context object instead of closing over
 * twenty variables.
 *
 * @module
 */

import type { AsgDetacher } from "./asg.ts";
import type { Drainer } from "./drain.ts";
import { sendMessage } from "./handler_messages.ts";
import type { Identity } from "./imds.ts";
import type { Kube, PodRef } from "./kube.ts";
import type { KubeCore } from "./kube_http.ts";
import type { Logger } from "./log.ts";
import { createScheduler, DEFAULT_MAINTENANCE_LEAD_MS, type Scheduler } from "./maintenance.ts";
import type { Metrics } from "./metrics.ts";
import type { Message } from "./notify_message.ts";
import type { Notifier } from "./notify.ts";
import type { Actions } from "./policy.ts";
import { cached } from "./_async.ts";
import { type Sleep, sleep as realSleep } from "./_async.ts";

/** How long the restart-idempotency read of the node may hold the start message back. */
export const STATE_READ_MS = 1_000;
/**
 * How long the drain waits for a cordon that keeps failing transiently before it starts anyway:
 * evicting onto a schedulable node can bounce pods back, but waiting for a sick API until the
 * deadline would leave the pods no time at all.
 */
export const CORDON_WAIT_MS = 5_000;

/** Side effects the handler needs; all replaceable by fakes. */
export interface HandlerDeps {
  /** The small fetch-based client: node read/patch and own-pod lookup, no library import. */
  kubeCore: () => Promise<KubeCore>;
  /**
   * The drain's and Events' client, made on first use: the same fetch client, or
   * `@kubernetes/client-node` for kubeconfigs the small reader does not understand.
   */
  kube: () => Promise<Kube>;
  drainer: (kube: Kube) => Drainer;
  /** Creates the ASG detacher for a region; absent when DETACH_ASG is off. */
  asg?: (region: string) => AsgDetacher;
  /** Loads the AWS SDK ahead of a likely detach (at a rebalance recommendation). */
  warmAsg?: () => Promise<void>;
  notifier: Notifier;
  identity: () => Promise<Identity>;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  sleep?: Sleep;
  /** Holds announced maintenance events until their action time; real timers by default. */
  scheduler?: Scheduler;
}

/** Options of the handler (lib/handler.ts's `createHandler`). */
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
  /** Label the node `LB_EXCLUSION_LABEL` (lib/handler_state.ts) in the cordon's PATCH (EXCLUDE_FROM_LOAD_BALANCERS). */
  excludeFromLoadBalancers?: boolean;
  /** How long before `NotBefore` a maintenance event's cordon and drain begin (MAINTENANCE_LEAD). */
  maintenanceLeadMs?: number;
}

/** What the handler's steps share, defaults resolved. */
export interface HandlerContext {
  readonly deps: HandlerDeps;
  readonly options: HandlerOptions;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly sleep: Sleep;
  readonly stateReadMs: number;
  readonly cordonWaitMs: number;
  readonly leadMs: number;
  readonly scheduler: Scheduler;
  /** Maintenance events announced in this process; the annotation says the same across restarts. */
  readonly announced: Set<string>;
  /** Notice ids being acted on (cordon, drain, dry run) right now. */
  readonly acting: Set<string>;
  /** The node this handler acts on, looked up from its own pod when NODE_NAME is unset. */
  nodeName(): Promise<string>;
  /** The instance identity, read once; {@linkcode UNKNOWN_IDENTITY} while IMDS cannot say. */
  identity(): Promise<Identity>;
  /** One message to every target; never rejects. */
  send(msg: Message): Promise<void>;
}

/** The identity the messages carry when IMDS cannot tell it. */
export const UNKNOWN_IDENTITY: Identity = {
  instanceId: "unknown",
  instanceType: "unknown",
  availabilityZone: "unknown",
  region: "unknown",
};

/** An error's text for a log line or a report. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The context for one handler: defaults resolved, lookups cached. */
export function createContext(deps: HandlerDeps, options: HandlerOptions): HandlerContext {
  const { logger } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    deps,
    options,
    logger,
    now,
    sleep: deps.sleep ?? realSleep,
    stateReadMs: options.stateReadMs ?? STATE_READ_MS,
    cordonWaitMs: options.cordonWaitMs ?? CORDON_WAIT_MS,
    leadMs: options.maintenanceLeadMs ?? DEFAULT_MAINTENANCE_LEAD_MS,
    scheduler: deps.scheduler ?? createScheduler({ now }),
    announced: new Set<string>(),
    acting: new Set<string>(),
    nodeName: nodeNameLookup(deps, options),
    identity: identityReader(deps),
    send: (msg) => sendMessage(deps.notifier, logger, msg),
  };
}

/** NODE_NAME, or the node of the handler's own pod; a failed lookup is retried at the next call. */
function nodeNameLookup(deps: HandlerDeps, options: HandlerOptions): () => Promise<string> {
  let resolvedNode = options.nodeName;
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
  return () => resolvedNode ? Promise.resolve(resolvedNode) : lookupNode();
}

/** The instance identity from IMDS, kept once read; a failure is asked again next time. */
function identityReader(deps: HandlerDeps): () => Promise<Identity> {
  let identityCache: Identity | undefined;
  return async () => {
    if (identityCache) return identityCache;
    try {
      return identityCache = await deps.identity();
    } catch (error) {
      deps.logger.warn("could not read instance identity from IMDS", { error: errorText(error) });
      return UNKNOWN_IDENTITY;
    }
  };
}
