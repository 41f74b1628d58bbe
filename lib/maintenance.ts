/**
 * Scheduled maintenance on time. AWS lists these events days or weeks before `NotBefore`; the
 * handler announces an event when it first sees it and cordons, taints and drains only from
 * `NotBefore` minus a lead (`MAINTENANCE_LEAD`). The rules here are pure functions of the event
 * and a clock, so a restarted handler computes the same time again from the event itself; the
 * node annotation (phase `announced`) keeps it from announcing twice. The scheduler is the only
 * side effect: one timer per event, cancelled when the event completes or is canceled first.
 *
 * @module
 */

import type { Notice } from "./notice.ts";

/**
 * The default lead: 15 minutes before `NotBefore`. Long enough for what a drain of a busy node
 * waits for: a replacement node from the cluster autoscaler or Karpenter (2–5 min to join) and
 * then PodDisruptionBudgets letting replicas go one at a time, each waiting for its successor to
 * become ready. Short enough that the node keeps serving until shortly before the event, instead
 * of standing drained for the days between AWS's announcement and the event.
 */
export const DEFAULT_MAINTENANCE_LEAD_MS = 15 * 60_000;

/** setTimeout's longest delay (about 24.8 days); longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When the handler starts acting on a notice: `NotBefore` minus the lead for a maintenance event,
 * at once (its notice time or earlier) for every other kind.
 *
 * @example
 * ```ts
 * declare const maintenance: import("./notice.ts").Notice;
 * actionTime(maintenance, 600_000); // NotBefore − 10 min
 * ```
 */
export function actionTime(notice: Notice, leadMs: number): Date {
  if (notice.kind !== "scheduled-maintenance") return new Date(0);
  return new Date(notice.noticeTime.getTime() - leadMs);
}

/**
 * Whether the cordon, taint and drain of `notice` should begin now. Only a maintenance event can
 * be early; an event whose time is unreadable would not have become a notice.
 *
 * @example
 * ```ts
 * declare const maintenanceInOneHour: import("./notice.ts").Notice;
 * isDue(maintenanceInOneHour, new Date(), 15 * 60_000); // false
 * ```
 */
export function isDue(notice: Notice, now: Date, leadMs: number): boolean {
  return now.getTime() >= actionTime(notice, leadMs).getTime();
}

/** A maintenance event IMDS lists as over: completed (AWS did it) or canceled. */
export interface FinishedEvent {
  /** The notice id it had while active: `scheduled-maintenance:<EventId>`. */
  id: string;
  state: "completed" | "canceled";
  /** `system-reboot`, `instance-stop`, ... */
  code: string;
}

/**
 * The completed and canceled events of a `meta-data/events/maintenance/scheduled` body. Lenient:
 * entries without an `EventId` or `State` are skipped, since the monitor already reports a
 * malformed body; AWS spells the state `canceled`, `cancelled` is accepted too.
 *
 * @example
 * ```ts
 * finishedEvents('[{"EventId":"instance-event-1","State":"canceled","Code":"system-reboot"}]');
 * // [{ id: "scheduled-maintenance:instance-event-1", state: "canceled", code: "system-reboot" }]
 * ```
 */
export function finishedEvents(body: string): FinishedEvent[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const out: FinishedEvent[] = [];
  for (const e of value) {
    if (e === null || typeof e !== "object") continue;
    const { EventId, State, Code } = e as Record<string, unknown>;
    if (typeof EventId !== "string" || !EventId || typeof State !== "string") continue;
    const state = State.toLowerCase();
    if (state !== "completed" && state !== "canceled" && state !== "cancelled") continue;
    out.push({
      id: `scheduled-maintenance:${EventId}`,
      state: state === "completed" ? "completed" : "canceled",
      code: typeof Code === "string" ? Code : "",
    });
  }
  return out;
}

/** Timers, injected so tests run on a fake clock. */
export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** One timer per notice id; see {@linkcode createScheduler}. */
export interface Scheduler {
  /** Run `run` at `when` (at once when past); replaces an earlier schedule of the same id. */
  at(notice: Notice, when: Date, run: () => void): void;
  /** Drop a schedule; returns the notice it was for, undefined when none was pending. */
  cancel(id: string): Notice | undefined;
  /** The notice pending under `id`, if any. */
  pending(id: string): Notice | undefined;
  /** Drop every schedule (shutdown). */
  stop(): void;
}

/**
 * A scheduler over real or fake timers. Waits longer than setTimeout allows are re-armed, and the
 * clock is read again at each step, so a wall clock that jumps does not make it fire early.
 *
 * @example
 * ```ts
 * import type { Handler } from "./handler.ts";
 * declare const notice: import("./notice.ts").Notice, handler: Handler;
 * const scheduler = createScheduler();
 * scheduler.at(notice, actionTime(notice, DEFAULT_MAINTENANCE_LEAD_MS), () => handler.handle(notice));
 * ```
 */
export function createScheduler(
  options: { now?: () => Date; timers?: Timers } = {},
): Scheduler {
  const now = options.now ?? (() => new Date());
  const timers: Timers = options.timers ?? {
    set: (run, ms) => setTimeout(run, ms),
    clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const entries = new Map<string, { notice: Notice; handle: unknown }>();

  function arm(notice: Notice, when: Date, run: () => void): void {
    const wait = when.getTime() - now().getTime();
    if (wait <= 0) {
      entries.delete(notice.id);
      run();
      return;
    }
    const handle = timers.set(() => arm(notice, when, run), Math.min(wait, MAX_TIMER_MS));
    entries.set(notice.id, { notice, handle });
  }

  return {
    at(notice, when, run) {
      const old = entries.get(notice.id);
      if (old) timers.clear(old.handle);
      arm(notice, when, run);
    },
    cancel(id) {
      const entry = entries.get(id);
      if (!entry) return undefined;
      timers.clear(entry.handle);
      entries.delete(id);
      return entry.notice;
    },
    pending: (id) => entries.get(id)?.notice,
    stop() {
      for (const entry of entries.values()) timers.clear(entry.handle);
      entries.clear();
    },
  };
}
