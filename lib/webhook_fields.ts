/**
 * What a webhook template sees: the documented fields ({@linkcode TEMPLATE_FIELDS}, the only
 * names a template may use; docs/notifications.md lists them) and their values for a message
 * ({@linkcode templateView}), as plain data without prototypes or functions.
 *
 * @module
 */

import { baseText, type Message, messageTitle, severity } from "./notify_message.ts";
import { messageText } from "./notify_fields.ts";
import { webhookPayload } from "./notify_webhook_event.ts";

/** One field a template may use: a value, a list to repeat, or an object to enter. */
export interface TemplateField {
  name: string;
  description: string;
  /** Fields of the list's items or of the object, for sections. */
  fields?: readonly TemplateField[];
}

const POD_FIELDS: readonly TemplateField[] = [
  { name: "pod", description: "namespace/name" },
  { name: "reason", description: "why it is listed" },
];

/**
 * Every field a template may use, documented in docs/notifications.md. Strings unless said
 * otherwise; inside a section, the section's own fields are used by name and a list of strings
 * item by `{{.}}`.
 */
export const TEMPLATE_FIELDS: readonly TemplateField[] = [
  {
    name: "event",
    description:
      '"notice" (the start message), "result", "canceled" (a maintenance event over before its time) or "returned" (the node back in service)',
  },
  { name: "isNotice", description: "true for the start message: a section" },
  { name: "isResult", description: "true for the result message: a section" },
  { name: "title", description: 'e.g. "Spot Termination", "Spot Termination Result"' },
  {
    name: "summary",
    description: 'one line: "Spot Termination (prod): NODE, Instance: ID, Instance Type: …"',
  },
  { name: "text", description: "the summary and one `Label: value` line per detail" },
  {
    name: "severity",
    description: '"warning" (start), "good" or "bad" (result), "info" (canceled, dry run)',
  },
  {
    name: "needsAttention",
    description: "true for a result with pods left or failed, or a failed ASG detach: a section",
  },
  { name: "kind", description: "spot-interruption, rebalance-recommendation, …" },
  { name: "action", description: "terminate, stop, hibernate, …" },
  { name: "noticeId", description: "stable across polls and restarts: a de-duplication key" },
  { name: "cluster", description: "CLUSTER, or empty" },
  { name: "node", description: "the node's name" },
  { name: "instanceId", description: "EC2 instance id" },
  { name: "instanceType", description: "EC2 instance type" },
  { name: "availabilityZone", description: "availability zone" },
  { name: "region", description: "region, or empty" },
  { name: "noticeTime", description: "when AWS acts (ISO 8601)" },
  { name: "deadline", description: "when the handler stops waiting (ISO 8601)" },
  { name: "dryRun", description: "true with DRY_RUN: a section" },
  { name: "test", description: "true for a message sent by --test-notification: a section" },
  { name: "plan", description: "the steps, a list of strings: `{{#plan}}{{.}} {{/plan}}`" },
  { name: "planText", description: 'the steps joined, e.g. "cordon, taint, drain"' },
  {
    name: "payloadJson",
    description: "the generic webhook's JSON document (schema version 1): `{{{payloadJson}}}`",
  },
  {
    name: "result",
    description: "only in the result message: a section with the fields below",
    fields: [
      { name: "drained", description: "true when the drain ran (fully or partly): a section" },
      { name: "drainStatus", description: "drained, partial, dry-run, not-run, or empty" },
      { name: "drainReason", description: "why the drain did not run (not-run), or empty" },
      { name: "drainMessage", description: "what to fix when it did not run, or empty" },
      { name: "wouldEvict", description: "with DRY_RUN: pods that would be evicted, a list" },
      { name: "evicted", description: "evicted pods, a list of strings" },
      { name: "evictedCount", description: "how many were evicted" },
      {
        name: "remaining",
        description: "pods still there, with pod and reason",
        fields: POD_FIELDS,
      },
      { name: "remainingCount", description: "how many remain" },
      {
        name: "failed",
        description: "pods whose eviction failed, pod and reason",
        fields: POD_FIELDS,
      },
      { name: "failedCount", description: "how many failed" },
      { name: "skipped", description: "pods left alone, pod and reason", fields: POD_FIELDS },
      { name: "skippedCount", description: "how many were left alone" },
      {
        name: "cordon",
        description: "the cordon, when it was attempted: a section",
        fields: [
          { name: "status", description: "cordoned or failed" },
          { name: "message", description: "why it failed, when it did" },
        ],
      },
      {
        name: "asg",
        description: "the ASG detach, when asked for: a section",
        fields: [
          { name: "status", description: "detached, not-in-group, failed, …" },
          { name: "group", description: "the group's name, when known" },
          { name: "message", description: "a short explanation, when there is one" },
        ],
      },
    ],
  },
];

type View = { [key: string]: ViewValue };
type ViewValue = string | number | boolean | null | View | ViewValue[];

// Data only, no prototype: a name such as "constructor" finds nothing even if it got past the
// name check.
function data(entries: Record<string, ViewValue | undefined>): View {
  const out = Object.create(null) as View;
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * The values a template sees for a message; see {@linkcode TEMPLATE_FIELDS}.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
 * declare const start: Message;
 * templateView(start).title; // "Spot Termination"
 * ```
 */
export function templateView(message: Message): View {
  const payload = webhookPayload(message);
  const pods = (list: { pod: string; reason: string }[]) =>
    list.map((p) => data({ pod: p.pod, reason: p.reason }));
  const r = payload.result;
  return data({
    event: payload.event,
    isNotice: payload.event === "notice",
    isResult: payload.event === "result",
    title: messageTitle(message),
    summary: baseText(message),
    text: messageText(message),
    severity: severity(message),
    needsAttention: severity(message) === "bad",
    kind: payload.kind,
    action: payload.action,
    noticeId: payload.noticeId,
    cluster: payload.cluster ?? "",
    node: payload.node,
    instanceId: payload.instanceId,
    instanceType: payload.instanceType,
    availabilityZone: payload.availabilityZone,
    region: payload.region ?? "",
    noticeTime: payload.noticeTime,
    deadline: payload.deadline,
    dryRun: payload.dryRun,
    test: payload.test === true,
    plan: [...payload.plan],
    planText: payload.plan.join(", "),
    payloadJson: JSON.stringify(payload),
    result: r && data({
      drained: r.drained,
      drainStatus: r.drain?.status ?? "",
      drainReason: r.drain?.reason ?? "",
      drainMessage: r.drain?.message ?? "",
      wouldEvict: [...(r.wouldEvict ?? [])],
      cordon: r.cordon ? data({ status: r.cordon.status, message: r.cordon.message }) : null,
      evicted: [...r.evicted],
      evictedCount: r.evicted.length,
      remaining: pods(r.remaining),
      remainingCount: r.remaining.length,
      failed: pods(r.failed),
      failedCount: r.failed.length,
      skipped: pods(r.skipped),
      skippedCount: r.skipped.length,
      asg: r.asg
        ? data({ status: r.asg.status, group: r.asg.group, message: r.asg.message })
        : null,
    }),
  });
}
