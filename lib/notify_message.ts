/**
 * The message a notification carries ({@linkcode Message}) and how it reads at a glance: its
 * title, its one-line text and its severity, shared by every target's payload
 * (lib/notify_payloads.ts). The old script's wording is kept ("Spot Termination", `{C}`).
 *
 * @module
 */

import type { Notice, NoticeKind } from "./notice.ts";
import type { HandlingReport, ReturnReport } from "./report.ts";

/**
 * Where the notice happened; `cluster` is `CLUSTER`, `region` comes from IMDS.
 *
 * @example
 * ```ts
 * const context: NotifyContext = {
 *   cluster: "prod",
 *   node: "ip-10-0-0-1.eu-west-1.compute.internal",
 *   instanceId: "i-0123456789abcdef0",
 *   instanceType: "m5.large",
 *   availabilityZone: "eu-west-1a",
 *   region: "eu-west-1",
 * };
 * ```
 */
export interface NotifyContext {
  cluster?: string;
  node: string;
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region?: string;
}

/**
 * One notification: `start` before the handler acts (after cordoning), `result` after the drain
 * and ASG detach. `plan` names the steps, e.g. `["cordon", "taint", "drain", "detach-asg"]`.
 * Two more close a notice: `canceled` (a maintenance event completed or was canceled before its
 * time, nothing was done) and `returned` (the node came back; the handler lifted its cordon).
 *
 * @example
 * ```ts
 * declare const { notice, context, report: { drain, asg } }: Extract<Message, { phase: "result" }>;
 * const start: Message = { phase: "start", notice, context, dryRun: false, plan: ["cordon", "drain"] };
 * const result: Message = { ...start, phase: "result", report: { drain, asg } };
 * ```
 */
export type Message =
  | {
    phase: "start";
    notice: Notice;
    context: NotifyContext;
    dryRun: boolean;
    plan: string[];
    /** A `--test-notification` message: titled "[TEST]", nothing happened. */
    test?: boolean;
    /** A maintenance event announced ahead: when the cordon and drain begin. */
    actionAt?: Date;
  }
  | {
    phase: "result";
    notice: Notice;
    context: NotifyContext;
    dryRun: boolean;
    plan: string[];
    report: HandlingReport;
    test?: boolean;
  }
  | {
    phase: "canceled";
    notice: Notice;
    context: NotifyContext;
    dryRun: boolean;
    plan: string[];
    /** What IMDS says became of the event. */
    state: "completed" | "canceled";
    test?: boolean;
  }
  | {
    phase: "returned";
    notice: Notice;
    context: NotifyContext;
    dryRun: boolean;
    plan: string[];
    returned: ReturnReport;
    test?: boolean;
  };

/**
 * A labelled value shown as a Slack/Mattermost field, a Discord field, a Teams fact or a line.
 *
 * @example
 * ```ts
 * const field: DetailField = { label: "Deadline", value: "2026-11-25T10:01:55.000Z", short: true };
 * ```
 */
export interface DetailField {
  label: string;
  value: string;
  /** Short values sit side by side in chat attachments. */
  short: boolean;
}

/**
 * How a message should look: start messages warn; results are good or bad news.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * const colour = { warning: "warning", good: "good", bad: "danger", info: "#439FE0" }[severity(message)];
 * ```
 */
export type Severity = "warning" | "good" | "bad" | "info";

const KIND_TITLES: Record<NoticeKind, string> = {
  "spot-interruption": "Spot Termination",
  "rebalance-recommendation": "Rebalance Recommendation",
  "scheduled-maintenance": "Scheduled Maintenance",
  "asg-termination": "ASG Termination",
};

/**
 * The honest title of a notice: "Spot Termination" for a spot reclaim (as the old script said),
 * "Spot Stop"/"Spot Hibernation" for those actions, else the kind's name.
 *
 * @example
 * ```ts
 * declare const notice: Message["notice"];
 * noticeTitle(notice); // "Rebalance Recommendation" for a rebalance-recommendation notice
 * ```
 */
export function noticeTitle(notice: Pick<Notice, "kind" | "action">): string {
  if (notice.kind === "spot-interruption") {
    if (notice.action === "stop") return "Spot Stop";
    if (notice.action === "hibernate") return "Spot Hibernation";
  }
  return KIND_TITLES[notice.kind];
}

/**
 * The title of a message: the notice's title, with " Result" after the handler acted.
 *
 * @example
 * ```ts
 * declare const start: Message;
 * messageTitle({ ...start, phase: "result", report: {} }); // "Spot Termination Result"
 * ```
 */
export function messageTitle(message: Message): string {
  const title = `${message.test ? "[TEST] " : ""}${noticeTitle(message.notice)}`;
  if (message.phase === "start") return title;
  if (message.phase === "canceled") {
    return `${title} ${message.state === "completed" ? "Completed" : "Canceled"}`;
  }
  if (message.phase === "returned") return `${title}: Back in Service`;
  switch (message.report.drain?.status) {
    case "not-run":
      return `${title} Result: drain not run`;
    case "partial":
      return `${title} Result: pods left`;
    case "dry-run":
      return `${title} Dry Run`;
    default:
      return message.report.cordon?.status === "failed"
        ? `${title} Result: cordon failed`
        : `${title} Result`;
  }
}

/**
 * `" (CLUSTER)"` when a cluster is set, else `""` (the old script's `{C}`).
 *
 * @example
 * ```ts
 * clusterSuffix({ cluster: "prod", node: "n", instanceId: "i", instanceType: "t", availabilityZone: "z" }); // " (prod)"
 * ```
 */
export function clusterSuffix(context: NotifyContext): string {
  return context.cluster ? ` (${context.cluster})` : "";
}

/**
 * The old script's one-line text: `Spot Termination{C}: NODE, Instance: ID, Instance Type: TYPE, AZ: AZ`.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * baseText(message); // "Spot Termination (prod): ip-10-0-0-1, Instance: i-0abc, Instance Type: m5.large, AZ: eu-west-1a"
 * ```
 */
export function baseText(message: Message): string {
  const c = message.context;
  return `${messageTitle(message)}${clusterSuffix(c)}: ${c.node}, Instance: ${c.instanceId}, ` +
    `Instance Type: ${c.instanceType}, AZ: ${c.availabilityZone}`;
}

/**
 * Good news when every pod left and the ASG detach did not fail; bad news otherwise; start
 * messages are warnings.
 *
 * @example
 * ```ts
 * declare const start: Message;
 * severity({ ...start, phase: "result", report: {} }); // "good"
 * ```
 */
export function severity(message: Message): Severity {
  if (message.phase === "start") return "warning";
  if (message.phase === "canceled") return "info";
  if (message.phase === "returned") return "good";
  const { drain, asg, cordon } = message.report;
  const asgOk = !asg || ["detached", "not-in-group", "already-detaching", "dry-run"].includes(
    asg.status,
  );
  if (!asgOk || cordon?.status === "failed") return "bad";
  if (drain?.status === "not-run" || drain?.status === "partial") return "bad";
  // A preview changed nothing: neither a success nor a failure.
  if (drain?.status === "dry-run" || message.dryRun) return "info";
  return "good";
}
