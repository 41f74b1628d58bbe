/**
 * The labelled details of a message, as every target shows them (fields, facts or lines): the
 * instance, then the notice and plan, the drain's and ASG detach's results, or what became of a
 * notice that closed. The result wording lives here.
 *
 * @module
 */

import { baseText, type DetailField, type Message, type NotifyContext } from "./notify_message.ts";
import type { AsgResult, DrainReport, PodOutcome, ReturnReport } from "./report.ts";

/** Pods named in one list; the rest are counted. */
const MAX_PODS_NAMED = 10;

/**
 * The old script's four attachment fields: Node, Instance, Instance Type, Availability Zone.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
 * declare const message: Message;
 * instanceFields(message.context)[0]; // { label: "Node", value: "ip-10-0-0-1", short: false }
 * ```
 */
export function instanceFields(context: NotifyContext): DetailField[] {
  return [
    { label: "Node", value: context.node, short: false },
    { label: "Instance", value: context.instanceId, short: true },
    { label: "Instance Type", value: context.instanceType, short: true },
    { label: "Availability Zone", value: context.availabilityZone, short: true },
  ];
}

function podList(pods: string[]): string {
  const named = pods.slice(0, MAX_PODS_NAMED).join(", ");
  const rest = pods.length - MAX_PODS_NAMED;
  return rest > 0 ? `${named} and ${rest} more` : named;
}

function countAndNames(pods: string[]): string {
  return pods.length === 0 ? "0" : `${pods.length}: ${podList(pods)}`;
}

function withReasons(pods: PodOutcome[]): string[] {
  return pods.map((p) => (p.reason ? `${p.pod} (${p.reason})` : p.pod));
}

function describeAsg(asg: AsgResult | undefined): string {
  if (!asg) return "not requested";
  const group = asg.group ? ` ${asg.group}` : "";
  const why = asg.message ? ` (${asg.message})` : "";
  switch (asg.status) {
    case "detached":
      return `detached from${group || " its group"}`;
    case "not-in-group":
      return "not in an Auto Scaling group";
    case "already-detaching":
      return `already detaching from${group || " its group"}`;
    case "dry-run":
      return `would detach from${group || " its group"}`;
    default:
      return `not detached: ${asg.status}${why}`;
  }
}

const NOT_RUN_TEXT: Record<string, string> = {
  "api-unreachable": "Kubernetes API unreachable",
  unauthorized: "credentials refused (401)",
  forbidden: "forbidden by RBAC (403)",
  "node-not-found": "node not found",
  config: "Kubernetes configuration error",
  "pod-list-failed": "listing the node's pods failed",
  "internal-error": "internal error",
};

function drainFields(drain: DrainReport | undefined): DetailField[] {
  if (!drain) return [{ label: "Drain", value: "not planned", short: true }];
  switch (drain.status) {
    case "not-run":
      return [
        { label: "Drain", value: `not run: ${NOT_RUN_TEXT[drain.reason]}`, short: false },
        { label: "Why", value: drain.message, short: false },
      ];
    case "dry-run":
      return [
        { label: "Would Evict", value: countAndNames(drain.wouldEvict), short: false },
        { label: "Skipped", value: String(drain.skipped.length), short: true },
      ];
  }
  const fields: DetailField[] = [
    { label: "Evicted", value: countAndNames(drain.evicted), short: drain.evicted.length === 0 },
    {
      label: "Still There",
      value: countAndNames(withReasons(drain.remaining)),
      short: drain.remaining.length === 0,
    },
    {
      label: "Failed",
      value: countAndNames(withReasons(drain.failed)),
      short: drain.failed.length === 0,
    },
    { label: "Skipped", value: String(drain.skipped.length), short: true },
  ];
  if (drain.resumed) {
    fields.push({
      label: "Resumed",
      value: "after a restart; pods evicted before it are not counted",
      short: false,
    });
  }
  return fields;
}

/**
 * The fields our messages add to the old ones. Start: the notice kind (and AWS's action), the
 * deadline and the plan. Result: pods evicted, still there, failed, skipped, and the ASG detach.
 * Both say "DRY RUN" when nothing is (or was) changed.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
 * declare const start: Message;
 * detailFields(start).map((f) => `${f.label}: ${f.value}`);
 * // ["Notice: spot-interruption (terminate)", "Deadline: 2026-11-25T10:01:55.000Z", "Plan: cordon, drain"]
 * ```
 */
export function detailFields(message: Message): DetailField[] {
  switch (message.phase) {
    case "start":
      return startFields(message);
    case "canceled":
      return canceledFields(message);
    case "returned":
      return returnedFields(message);
    default:
      return resultFields(message);
  }
}

type Phase<P extends Message["phase"]> = Extract<Message, { phase: P }>;

function noticeField({ kind, action }: Message["notice"]): DetailField {
  return { label: "Notice", value: action ? `${kind} (${action})` : kind, short: true };
}

function startFields(message: Phase<"start">): DetailField[] {
  const { notice } = message;
  const fields: DetailField[] = [
    noticeField(notice),
    { label: "Deadline", value: notice.deadline.toISOString(), short: true },
    { label: "Plan", value: message.plan.join(", ") || "notify only", short: false },
  ];
  if (notice.kind === "scheduled-maintenance") {
    fields.push({ label: "Not Before", value: notice.noticeTime.toISOString(), short: true });
    if (notice.notAfter) {
      fields.push({ label: "Not After", value: notice.notAfter.toISOString(), short: true });
    }
  }
  if (message.actionAt) {
    fields.push({ label: "Action At", value: message.actionAt.toISOString(), short: false });
  }
  if (message.dryRun) fields.push({ label: "DRY RUN", value: "nothing is changed", short: false });
  return fields;
}

function canceledFields(message: Phase<"canceled">): DetailField[] {
  return [
    noticeField(message.notice),
    {
      label: "Outcome",
      value: `${message.state} before its time; the handler did nothing to the node`,
      short: false,
    },
  ];
}

/** A closing message says so when nothing was changed. */
function dryRunAfter(message: Message): DetailField[] {
  return message.dryRun ? [{ label: "DRY RUN", value: "nothing was changed", short: false }] : [];
}

function returnedFields(message: Phase<"returned">): DetailField[] {
  const r = message.returned;
  return [
    { label: "Why", value: RETURN_WHY[r.why], short: false },
    {
      label: "Cordon",
      value: r.uncordoned ? "lifted" : "kept: the node was cordoned before the handler",
      short: false,
    },
    { label: "Removed", value: r.removed.join(", ") || "nothing", short: false },
    ...dryRunAfter(message),
  ];
}

function resultFields(message: Phase<"result">): DetailField[] {
  const { cordon, drain, asg } = message.report;
  return [
    ...(cordon?.status === "failed"
      ? [{ label: "Cordon", value: `failed: ${cordon.message ?? ""}`, short: false }]
      : []),
    ...drainFields(drain),
    { label: "ASG", value: describeAsg(asg), short: false },
    ...dryRunAfter(message),
  ];
}

const RETURN_WHY: Record<ReturnReport["why"], string> = {
  rebooted: "the node's boot ID changed: the instance is back",
  resumed: "the instance resumed from hibernation",
  "event-completed": "the maintenance event completed",
  "event-canceled": "the maintenance event was canceled",
};

/**
 * The plain-text form: the base text, then one `Label: value` line per detail field. Used by
 * Google Chat, mail and as the source of WeChat's `desp`.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
 * declare const start: Message;
 * messageText(start).split("\n")[1]; // "Notice: spot-interruption (terminate)"
 * ```
 */
export function messageText(message: Message): string {
  const lines = detailFields(message).map((f) => `${f.label}: ${f.value}`);
  return [baseText(message), ...lines].join("\n");
}
