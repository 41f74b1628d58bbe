/**
 * Which steps a notice triggers. The one place these rules live: a table with one row per kind of
 * notice (its variable, its default action), and {@linkcode planFor}, which turns a notice and
 * the configured actions into steps. config_read.ts validates and `--help` (config_variables.ts) lists the variables from
 * the same table.
 *
 * @module
 */

import type { Notice, NoticeKind } from "./notice.ts";

/** A step the handler can take. */
export type Step = "cordon" | "taint" | "drain" | "detach-asg";

/** What a kind of notice triggers: a message only, a cordon (with taint), or a full drain. */
export type Action = "notify" | "cordon" | "drain";

/** Values accepted by every `*_ACTION` variable. */
export const ACTIONS: readonly Action[] = ["notify", "cordon", "drain"];

/** The action per kind of notice. */
export type Actions = Record<NoticeKind, Action>;

/** One row of the table: a kind of notice, the variable that sets its action, the default. */
export interface ActionRule {
  kind: NoticeKind;
  variable: string;
  default: Action;
  /** What the notice means, for `--help`. */
  description: string;
}

/**
 * The rules. Defaults keep what the handler always did: a spot interruption, a scheduled
 * maintenance event and an ASG termination take the instance away, so the node is drained; a
 * rebalance recommendation is only a raised risk, and most rebalances are never followed by an
 * interruption, so it notifies.
 */
export const ACTION_RULES: readonly ActionRule[] = [
  {
    kind: "spot-interruption",
    variable: "SPOT_ACTION",
    default: "drain",
    description: "spot interruption (terminate, stop, hibernate)",
  },
  {
    kind: "scheduled-maintenance",
    variable: "MAINTENANCE_ACTION",
    default: "drain",
    description: "scheduled maintenance event",
  },
  {
    kind: "asg-termination",
    variable: "ASG_ACTION",
    default: "drain",
    description: "ASG target lifecycle state Terminated",
  },
  {
    kind: "rebalance-recommendation",
    variable: "REBALANCE_ACTION",
    default: "notify",
    description: "rebalance recommendation",
  },
];

/** Every kind's default action. */
export const DEFAULT_ACTIONS: Readonly<Actions> = Object.freeze(
  Object.fromEntries(ACTION_RULES.map((r) => [r.kind, r.default])) as Actions,
);

/** Options of {@linkcode planFor}. */
export interface PolicyOptions {
  actions: Actions;
  detachAsg: boolean;
}

// Maintenance codes after which the instance does not come back; a reboot keeps it in its group.
const LEAVING_CODES = new Set(["instance-stop", "instance-retirement"]);

const STEPS: Record<Action, Step[]> = {
  notify: [],
  cordon: ["cordon", "taint"],
  drain: ["cordon", "taint", "drain"],
};

/**
 * The steps for one notice, in order. An empty plan means notify only.
 *
 * Detaching from the Auto Scaling group only helps when the instance is leaving and the group
 * does not know it yet: a spot interruption or a stop/retirement event. On an ASG termination the
 * group already started the replacement. A notify-only action changes nothing, in Kubernetes or
 * in AWS (that is what it is for: another tool, e.g. Karpenter, acts).
 *
 * @example
 * ```ts
 * import type { Notice } from "./notice.ts";
 * declare const notice: Notice;
 * planFor(notice, { actions: DEFAULT_ACTIONS, detachAsg: true });
 * // spot interruption → ["cordon", "taint", "drain", "detach-asg"]
 * ```
 */
export function planFor(notice: Notice, options: PolicyOptions): Step[] {
  const action = options.actions[notice.kind] ?? DEFAULT_ACTIONS[notice.kind];
  const steps = [...STEPS[action]];
  if (action === "notify" || !options.detachAsg) return steps;
  const leaving = notice.kind === "spot-interruption" ||
    (notice.kind === "scheduled-maintenance" && LEAVING_CODES.has(notice.action));
  return leaving ? [...steps, "detach-asg"] : steps;
}
