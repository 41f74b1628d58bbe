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
  /** Absent when the policy did not drain (notify-only, cordon-only). */
  drain?: DrainResult;
  /** Absent when `DETACH_ASG` is off. */
  asg?: AsgResult;
}
