/**
 * What the handler did about one notice: the drain's and the ASG detach's outcomes. Shared by
 * drain, asg, handler and notify so that a result message says exactly what happened.
 *
 * @module
 */

/** A pod named `namespace/name`, with why it is in that list. */
export interface PodOutcome {
  pod: string;
  reason: string;
}

/** Outcome of draining one node. */
export interface DrainResult {
  /** Pods whose eviction was accepted and which are gone (or were replaced, new UID). */
  evicted: string[];
  /** Pods still on the node at the deadline, e.g. blocked by a PodDisruptionBudget. */
  remaining: PodOutcome[];
  /** Pods whose eviction failed for good (403, 400, ...). */
  failed: PodOutcome[];
  /** Pods left alone on purpose: DaemonSet, mirror, finished, the handler's own pod. */
  skipped: PodOutcome[];
}

/** Why a drain was not run at all. */
export type NotRunReason =
  /** The API server did not answer (refused, timed out, 5xx) until the deadline. */
  | "api-unreachable"
  /** 401: the credentials were refused. */
  | "unauthorized"
  /** 403: RBAC does not grant a verb the drain needs. */
  | "forbidden"
  /** The node does not exist (or the own pod is not scheduled). */
  | "node-not-found"
  /** The kubeconfig, the service account files or TLS are misconfigured. */
  | "config"
  /** Listing the node's pods failed for good. */
  | "pod-list-failed"
  /** An unexpected error inside the handler. */
  | "internal-error";

/**
 * The drain's outcome as a tagged result, so that a message never reports success for work that
 * was not attempted: `drained` (every pod gone), `partial` (some pods remaining or failed),
 * `dry-run` (a preview: what would be evicted) and `not-run` (why nothing was attempted).
 */
export type DrainReport =
  | ({ status: "drained" | "partial"; resumed?: boolean } & DrainResult)
  | { status: "dry-run"; wouldEvict: string[]; skipped: PodOutcome[] }
  | { status: "not-run"; reason: NotRunReason; message: string };

/**
 * Tag a finished drain: `drained` when nothing was left behind, else `partial`.
 *
 * @example
 * ```ts
 * drainReport({ evicted: ["a/b"], remaining: [], failed: [], skipped: [] }).status; // "drained"
 * ```
 */
export function drainReport(result: DrainResult, options: { resumed?: boolean } = {}): DrainReport {
  const status = result.remaining.length === 0 && result.failed.length === 0
    ? "drained"
    : "partial";
  return { status, ...result, ...(options.resumed ? { resumed: true } : {}) };
}

/** How the cordon (with taint and annotation) ended. */
export interface CordonReport {
  status: "cordoned" | "failed";
  /** Why it failed, with the fix. */
  message?: string;
}

/** How an Auto Scaling detach ended. */
export type AsgStatus =
  | "detached"
  | "not-in-group"
  | "already-detaching"
  | "throttled"
  | "access-denied"
  | "failed"
  | "dry-run";

/** Outcome of detaching the instance from its Auto Scaling group. */
export interface AsgResult {
  status: AsgStatus;
  /** The group's name, when known. */
  group?: string;
  /** A short explanation for logs and messages; never contains credentials. */
  message?: string;
}

/** Everything the handler reports after acting on a notice. */
export interface HandlingReport {
  /** Absent when the policy does not cordon. */
  cordon?: CordonReport;
  /** Absent when the policy did not drain (notify-only, cordon-only). */
  drain?: DrainReport;
  /** Absent when `DETACH_ASG` is off. */
  asg?: AsgResult;
}

/** What the handler undid when the node came back (lib/node_return.ts). */
export interface ReturnReport {
  /** Why the node counts as back: a new boot ID, or the maintenance event completed/canceled. */
  why: "rebooted" | "resumed" | "event-completed" | "event-canceled";
  /** The cordon was lifted; false when someone else had cordoned the node before the handler. */
  uncordoned: boolean;
  /** What the handler removed: its taint, its load-balancer label. */
  removed: string[];
}
