/**
 * The event every monitor produces and the handler consumes.
 *
 * @module
 */

/** What AWS announced. */
export type NoticeKind =
  | "spot-interruption"
  | "rebalance-recommendation"
  | "scheduled-maintenance"
  | "asg-termination";

/** All kinds, in the order they are documented. */
export const NOTICE_KINDS: readonly NoticeKind[] = [
  "spot-interruption",
  "rebalance-recommendation",
  "scheduled-maintenance",
  "asg-termination",
];

/** A typed notice. `id` is stable for the same announcement across polls and restarts. */
export interface Notice {
  /** Stable identity, e.g. `spot-interruption:2026-11-25T10:02:00Z` or `scheduled-maintenance:instance-event-0d5…`. */
  id: string;
  kind: NoticeKind;
  /** When AWS says the action happens (spot `time`, maintenance `NotBefore`), or when it was seen. */
  noticeTime: Date;
  /** When the handler's work must be finished: noticeTime (or now + 120 s) minus the safety margin. */
  deadline: Date;
  /** A maintenance event's `NotAfter`, when AWS gives one: the end of its window. */
  notAfter?: Date;
  /** Short human detail, e.g. `terminate`, `system-reboot`, `Terminated`. */
  action: string;
  /** The IMDS body as received, for logs and the generic webhook. */
  raw: string;
  /**
   * What may change under the same `id` and must then be acted on again: a maintenance event
   * the customer rescheduled keeps its `EventId` but gets a new `NotBefore`.
   */
  revision?: string;
}

/**
 * The key the monitor dispatches a notice once under: its id, plus its revision when the source
 * gives one, so a rescheduled maintenance event reaches the handler again with its new time.
 *
 * @example
 * ```ts
 * declare const notice: Notice;
 * noticeKey({ ...notice, id: "scheduled-maintenance:e-1", revision: "2026-12-09T09:00:00.000Z" });
 * // "scheduled-maintenance:e-1@2026-12-09T09:00:00.000Z"
 * ```
 */
export function noticeKey(notice: Notice): string {
  return notice.revision === undefined ? notice.id : `${notice.id}@${notice.revision}`;
}

/** What AWS promises before a spot reclaim; used when a notice has no usable time. */
export const DEFAULT_NOTICE_MS = 120_000;
/** Subtracted from the notice time so pods are gone before the instance is. */
export const SAFETY_MARGIN_MS = 5_000;

/**
 * The handler's deadline for a notice: its time (or now + 120 s when absent or already past)
 * minus a safety margin, never earlier than now.
 *
 * @example
 * ```ts
 * computeDeadline(new Date("2026-11-25T10:02:00Z"), new Date("2026-11-25T10:00:00Z"));
 * // 2026-11-25T10:01:55Z
 * ```
 */
export function computeDeadline(
  noticeTime: Date | undefined,
  now: Date,
  marginMs: number = SAFETY_MARGIN_MS,
): Date {
  const base = noticeTime && !isNaN(noticeTime.getTime()) && noticeTime > now
    ? noticeTime.getTime()
    : now.getTime() + DEFAULT_NOTICE_MS;
  return new Date(Math.max(now.getTime(), base - marginMs));
}
