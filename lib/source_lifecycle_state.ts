/**
 * The Auto Scaling group's plan for this instance, `meta-data/autoscaling/target-lifecycle-state`
 * (a plain state name such as `InService`).
 *
 * @module
 */

import { quote } from "./_source_parse.ts";
import { computeDeadline, type Notice } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";

const PATH = "meta-data/autoscaling/target-lifecycle-state";

/**
 * Parse `meta-data/autoscaling/target-lifecycle-state`: `Terminated` means the Auto Scaling
 * group is about to terminate this instance; every other state (`InService`, …) is no notice.
 *
 * @example
 * ```ts
 * parseLifecycleState("InService", new Date()); // null
 * parseLifecycleState("Terminated", new Date())?.id; // "asg-termination:Terminated"
 * ```
 */
export function parseLifecycleState(body: string, now: Date, marginMs?: number): Notice | null {
  const state = body.trim();
  if (!/^[A-Za-z]+(?::[A-Za-z]+)?$/.test(state)) {
    throw new SyntaxError(`${PATH}: not a lifecycle state: ${quote(body)}`);
  }
  if (state !== "Terminated") return null;
  return {
    id: "asg-termination:Terminated",
    kind: "asg-termination",
    noticeTime: now,
    deadline: computeDeadline(undefined, now, marginMs),
    action: state,
    raw: body,
  };
}

/**
 * The lifecycle-state source, every 5 s: `Terminated` leaves the time of a termination lifecycle
 * hook (30 s at the least, an hour by default; without a hook the group terminates at once and
 * no poll rate helps). 5 s uses at most a sixth of the shortest hook.
 */
export const LIFECYCLE_STATE: NoticeSource = {
  path: PATH,
  everyMs: 5_000,
  parse: (body, now, marginMs) => {
    const notice = parseLifecycleState(body, now, marginMs);
    return notice ? [notice] : [];
  },
};
