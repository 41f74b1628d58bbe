/**
 * Which steps a notice triggers. Kept apart from the handler so the rules read as one table.
 *
 * @module
 */

import type { RebalanceAction } from "./config.ts";
import type { Notice } from "./notice.ts";

/** A step the handler can take. */
export type Step = "cordon" | "taint" | "drain" | "detach-asg";

/** Options of {@linkcode planFor}. */
export interface PolicyOptions {
  rebalanceAction: RebalanceAction;
  detachAsg: boolean;
}

// Maintenance codes after which the instance does not come back; a reboot keeps it in its group.
const LEAVING_CODES = new Set(["instance-stop", "instance-retirement"]);

/**
 * The steps for one notice, in order. An empty plan means notify only.
 *
 * Detaching from the Auto Scaling group only helps when the instance is leaving and the group
 * does not know it yet: a spot interruption or a stop/retirement event. On an ASG termination the
 * group already started the replacement.
 *
 * @example
 * ```ts
 * import type { Notice } from "./notice.ts";
 * declare const notice: Notice;
 * planFor(notice, { rebalanceAction: "notify", detachAsg: true });
 * // spot interruption → ["cordon", "taint", "drain", "detach-asg"]
 * ```
 */
export function planFor(notice: Notice, options: PolicyOptions): Step[] {
  const full: Step[] = ["cordon", "taint", "drain"];
  switch (notice.kind) {
    case "spot-interruption":
      return options.detachAsg ? [...full, "detach-asg"] : full;
    case "scheduled-maintenance":
      return options.detachAsg && LEAVING_CODES.has(notice.action) ? [...full, "detach-asg"] : full;
    case "asg-termination":
      return full;
    case "rebalance-recommendation":
      if (options.rebalanceAction === "drain") return full;
      if (options.rebalanceAction === "cordon") return ["cordon", "taint"];
      return [];
  }
}
