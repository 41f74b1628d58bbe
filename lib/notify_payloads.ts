// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * What each notification target receives: pure functions from a {@linkcode Message} to a
 * request body. The shapes of the old script's `entrypoint.sh` are kept (field names, titles,
 * colours, even the extra space in Mattermost's and Sematext's titles), with valid JSON and the
 * notice kind, deadline, plan and dry-run flag added as extra fields or lines.
 *
 * @module
 */

import type { Notice, NoticeKind } from "./notice.ts";
import type { AsgResult, DrainReport, HandlingReport, PodOutcome, ReturnReport } from "./report.ts";

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

/** Pods named in one list; the rest are counted. */
const MAX_PODS_NAMED = 10;

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
 * The old script's four attachment fields: Node, Instance, Instance Type, Availability Zone.
 *
 * @example
 * ```ts
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
 * declare const start: Message;
 * detailFields(start).map((f) => `${f.label}: ${f.value}`);
 * // ["Notice: spot-interruption (terminate)", "Deadline: 2026-11-25T10:01:55.000Z", "Plan: cordon, drain"]
 * ```
 */
export function detailFields(message: Message): DetailField[] {
  const fields: DetailField[] = [];
  if (message.phase === "start") {
    const { kind, action } = message.notice;
    fields.push(
      { label: "Notice", value: action ? `${kind} (${action})` : kind, short: true },
      { label: "Deadline", value: message.notice.deadline.toISOString(), short: true },
      { label: "Plan", value: message.plan.join(", ") || "notify only", short: false },
    );
    if (message.notice.kind === "scheduled-maintenance") {
      fields.push({
        label: "Not Before",
        value: message.notice.noticeTime.toISOString(),
        short: true,
      });
      if (message.notice.notAfter) {
        fields.push({
          label: "Not After",
          value: message.notice.notAfter.toISOString(),
          short: true,
        });
      }
    }
    if (message.actionAt) {
      fields.push({ label: "Action At", value: message.actionAt.toISOString(), short: false });
    }
    if (message.dryRun) {
      fields.push({ label: "DRY RUN", value: "nothing is changed", short: false });
    }
  } else if (message.phase === "canceled") {
    const { kind, action } = message.notice;
    fields.push(
      { label: "Notice", value: action ? `${kind} (${action})` : kind, short: true },
      {
        label: "Outcome",
        value: `${message.state} before its time; the handler did nothing to the node`,
        short: false,
      },
    );
  } else if (message.phase === "returned") {
    const r = message.returned;
    fields.push(
      { label: "Why", value: RETURN_WHY[r.why], short: false },
      {
        label: "Cordon",
        value: r.uncordoned ? "lifted" : "kept: the node was cordoned before the handler",
        short: false,
      },
      { label: "Removed", value: r.removed.join(", ") || "nothing", short: false },
    );
    if (message.dryRun) {
      fields.push({ label: "DRY RUN", value: "nothing was changed", short: false });
    }
  } else {
    const { cordon } = message.report;
    if (cordon?.status === "failed") {
      fields.push({ label: "Cordon", value: `failed: ${cordon.message ?? ""}`, short: false });
    }
    fields.push(
      ...drainFields(message.report.drain),
      { label: "ASG", value: describeAsg(message.report.asg), short: false },
    );
    if (message.dryRun) {
      fields.push({ label: "DRY RUN", value: "nothing was changed", short: false });
    }
  }
  return fields;
}

const RETURN_WHY: Record<ReturnReport["why"], string> = {
  rebooted: "the node's boot ID changed: the instance is back",
  resumed: "the instance resumed from hibernation",
  "event-completed": "the maintenance event completed",
  "event-canceled": "the maintenance event was canceled",
};

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

/**
 * The plain-text form: the base text, then one `Label: value` line per detail field. Used by
 * Google Chat, mail and as the source of WeChat's `desp`.
 *
 * @example
 * ```ts
 * declare const start: Message;
 * messageText(start).split("\n")[1]; // "Notice: spot-interruption (terminate)"
 * ```
 */
export function messageText(message: Message): string {
  const lines = detailFields(message).map((f) => `${f.label}: ${f.value}`);
  return [baseText(message), ...lines].join("\n");
}

interface ChatField {
  title: string;
  value: string;
  short: boolean;
}

function chatFields(message: Message): ChatField[] {
  return [...instanceFields(message.context), ...detailFields(message)].map((f) => ({
    title: f.label,
    value: f.value,
    short: f.short,
  }));
}

function chatTitle(message: Message, separator: string): string {
  const emoji = {
    warning: ":warning:",
    good: ":white_check_mark:",
    bad: ":x:",
    info: ":information_source:",
  }[severity(message)];
  return `${emoji} ${messageTitle(message)}${separator}${clusterSuffix(message.context)}`;
}

function chatColour(message: Message, startColour: string): string {
  return { warning: startColour, good: "good", bad: "danger", info: "#439FE0" }[severity(message)];
}

/**
 * Slack incoming webhook body, sent form-encoded as the `payload` field (as the old script did).
 * `channel` is omitted when empty.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * const body = new URLSearchParams({ payload: JSON.stringify(slackPayload(message, { channel: "#ops" })) });
 * ```
 */
export function slackPayload(message: Message, options: { channel?: string } = {}): object {
  return {
    ...(options.channel ? { channel: options.channel } : {}),
    attachments: [{
      fallback: baseText(message),
      title: chatTitle(message, ""),
      color: chatColour(message, "danger"),
      fields: chatFields(message),
    }],
  };
}

/**
 * Mattermost incoming webhook body, form-encoded as `payload`. Like Slack's, with colour
 * "warning" and the old title's extra space before the cluster (`":warning: Spot Termination {C}"`).
 * Empty `username`, `icon_url` and `channel` are omitted.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * mattermostPayload(message, { username: "spot-bot" });
 * ```
 */
export function mattermostPayload(
  message: Message,
  options: { username?: string; iconUrl?: string; channel?: string } = {},
): object {
  return {
    ...(options.username ? { username: options.username } : {}),
    ...(options.iconUrl ? { icon_url: options.iconUrl } : {}),
    ...(options.channel ? { channel: options.channel } : {}),
    attachments: [{
      fallback: baseText(message),
      title: chatTitle(message, " "),
      color: chatColour(message, "warning"),
      fields: chatFields(message),
    }],
  };
}

const SEMATEXT_TYPES: Record<NoticeKind, string> = {
  "spot-interruption": "aws_spot_instance_terminated",
  "rebalance-recommendation": "aws_rebalance_recommendation",
  "scheduled-maintenance": "aws_scheduled_maintenance",
  "asg-termination": "aws_asg_termination",
};

const SEMATEXT_SUFFIX = { result: "handled", canceled: "canceled", returned: "returned" } as const;

/**
 * Sematext event body (JSON). Keeps the old keys (`"Instance"`, `"Instance Type"`,
 * `"Availability Zone"`, title with the extra space) and adds one key per detail field.
 * `type` is `aws_spot_instance_terminated` for a spot reclaim, `…_handled` on results.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * sematextPayload(message).type; // "aws_spot_instance_terminated"
 * ```
 */
export function sematextPayload(message: Message): Record<string, string> {
  const c = message.context;
  const type = SEMATEXT_TYPES[message.notice.kind];
  const body: Record<string, string> = {
    message: baseText(message),
    title: `${messageTitle(message)} ${clusterSuffix(c)}`,
    host: c.node,
    "Instance": c.instanceId,
    "Instance Type": c.instanceType,
    "Availability Zone": c.availabilityZone,
    type: message.phase === "start" ? type : `${type}_${SEMATEXT_SUFFIX[message.phase]}`,
  };
  for (const f of detailFields(message)) body[f.label] = f.value;
  return body;
}

/**
 * WeChat (ServerChan-style) query parameters: `text` is the title and `desp` the text, both with
 * all whitespace removed as the old script did; lines are joined with `;`.
 *
 * @example
 * ```ts
 * declare const start: Message;
 * wechatQuery(start).text; // "SpotTermination"
 * ```
 */
export function wechatQuery(message: Message): { text: string; desp: string } {
  const squeeze = (s: string) => s.replace(/\s+/g, "");
  const lines = [baseText(message), ...detailFields(message).map((f) => `${f.label}: ${f.value}`)];
  return { text: squeeze(messageTitle(message)), desp: lines.map(squeeze).join(";") };
}

/**
 * Google Chat (formerly Hangouts Chat) webhook body: `{text}`.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * googleChatPayload(message); // { text: "Spot Termination (prod): ...\nNotice: ..." }
 * ```
 */
export function googleChatPayload(message: Message): { text: string } {
  return { text: messageText(message) };
}

/**
 * Microsoft Teams body: an Adaptive Card 1.4 in a `message` envelope, the shape the Teams
 * "Workflows" webhooks (Power Automate, "When a Teams webhook request is received") accept.
 * The older Office 365 connector MessageCard is not used: Microsoft retired those connectors.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * teamsPayload(message).attachments[0].contentType; // "application/vnd.microsoft.card.adaptive"
 * ```
 */
export function teamsPayload(
  message: Message,
): { type: "message"; attachments: { contentType: string; contentUrl: null; content: object }[] } {
  const colour = { warning: "Warning", good: "Good", bad: "Attention", info: "Accent" }[
    severity(message)
  ];
  const facts = [...instanceFields(message.context), ...detailFields(message)].map((f) => ({
    title: f.label,
    value: f.value,
  }));
  return {
    type: "message",
    attachments: [{
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
      content: {
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        type: "AdaptiveCard",
        version: "1.4",
        body: [
          {
            type: "TextBlock",
            text: `${messageTitle(message)}${clusterSuffix(message.context)}`,
            weight: "Bolder",
            size: "Medium",
            color: colour,
            wrap: true,
          },
          { type: "TextBlock", text: baseText(message), wrap: true },
          { type: "FactSet", facts },
        ],
      },
    }],
  };
}

const DISCORD_COLOURS: Record<Severity, number> = {
  warning: 0xdaa038,
  good: 0x2eb67d,
  bad: 0xe01e5a,
  info: 0x439fe0,
};

function clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/**
 * Discord webhook body: `{content, embeds}` with the base text as content and one embed of
 * fields. `allowed_mentions` is empty so a value such as `@everyone` pings nobody. Lengths are
 * clipped to Discord's limits (content 2000, title 256, field value 1024).
 *
 * @example
 * ```ts
 * declare const message: Message;
 * discordPayload(message).embeds[0].fields[0]; // { name: "Node", value: "ip-10-0-0-1", inline: false }
 * ```
 */
export function discordPayload(message: Message): {
  content: string;
  embeds: {
    title: string;
    color: number;
    fields: { name: string; value: string; inline: boolean }[];
  }[];
  allowed_mentions: { parse: string[] };
} {
  const fields = [...instanceFields(message.context), ...detailFields(message)].map((f) => ({
    name: f.label,
    value: clip(f.value || "-", 1024),
    inline: f.short,
  }));
  return {
    content: clip(baseText(message), 2000),
    embeds: [{
      title: clip(`${messageTitle(message)}${clusterSuffix(message.context)}`, 256),
      color: DISCORD_COLOURS[severity(message)],
      fields,
    }],
    allowed_mentions: { parse: [] },
  };
}

/**
 * The generic JSON webhook (`WEBHOOK_URL`), schema version 1. Sent as
 * `POST` with `Content-Type: application/json` once when a notice is handled (`event: "notice"`)
 * and once after the handler acted (`event: "result"`).
 *
 * Stability: within version 1 fields are only ever added, never renamed, retyped or removed;
 * a breaking change bumps `schemaVersion`. Receivers should ignore fields they do not know.
 *
 * ```jsonc
 * {
 *   "schemaVersion": 1,
 *   "event": "notice",                 // "notice" | "result" | "canceled" | "returned"
 *   "kind": "spot-interruption",       // | "rebalance-recommendation" | "scheduled-maintenance" | "asg-termination"
 *   "action": "terminate",             // AWS's detail: terminate/stop/hibernate, event code, lifecycle state
 *   "noticeId": "spot-interruption:2026-11-25T10:02:00Z", // stable across polls and restarts
 *   "cluster": "prod",                 // null when CLUSTER is unset
 *   "node": "ip-10-0-0-1.eu-west-1.compute.internal",
 *   "instanceId": "i-0123456789abcdef0",
 *   "instanceType": "m5.large",
 *   "availabilityZone": "eu-west-1a",
 *   "region": "eu-west-1",             // null when unknown
 *   "noticeTime": "2026-11-25T10:02:00.000Z", // when AWS acts (RFC 3339, UTC)
 *   "deadline": "2026-11-25T10:01:55.000Z",   // when the handler's work must be done
 *   "notAfter": "2026-11-25T12:00:00.000Z",   // maintenance only, when AWS gives it
 *   "actionAt": "2026-11-25T09:45:00.000Z",   // maintenance announced ahead: when cordon/drain begin
 *   "state": "canceled",               // only on "canceled": completed | canceled (nothing was done)
 *   "returned": {                      // only on "returned": the node came back
 *     "why": "rebooted",               // rebooted | resumed | event-completed | event-canceled
 *     "uncordoned": true,              // false: someone else had cordoned it; left cordoned
 *     "removed": ["taint spot-termination-handler/notice"]
 *   },
 *   "dryRun": false,                   // true: nothing is changed, only reported
 *   "plan": ["cordon", "taint", "drain", "detach-asg"],
 *   "test": true,                      // only on --test-notification messages
 *   "result": {                        // only on "result" events
 *     "drained": true,                 // true only when a drain was attempted (status drained/partial)
 *     "drain": { "status": "drained" }, // drained | partial | dry-run | not-run (+ reason, message); null when not planned
 *     "cordon": { "status": "cordoned" }, // cordoned | failed (+ message); null when not planned
 *     "evicted": ["default/web-7d4b9"],                       // namespace/name
 *     "remaining": [{ "pod": "default/db-0", "reason": "PodDisruptionBudget" }],
 *     "failed": [{ "pod": "kube-system/x", "reason": "403 Forbidden" }],
 *     "skipped": [{ "pod": "kube-system/aws-node-abc", "reason": "DaemonSet" }],
 *     "wouldEvict": ["default/web-7d4b9"],                    // dry run only
 *     "asg": { "status": "detached", "group": "workers", "message": "..." } // null when DETACH_ASG is off
 *   }
 * }
 * ```
 * `asg.status` is one of `detached`, `not-in-group`, `already-detaching`, `throttled`,
 * `access-denied`, `failed`, `dry-run`; `group` and `message` may be absent.
 *
 * @example
 * ```ts
 * // A receiver
 * declare const request: Request;
 * const event = (await request.json()) as WebhookEventV1;
 * if (event.schemaVersion === 1 && event.event === "result") console.log(event.result?.remaining);
 * ```
 */
export interface WebhookEventV1 {
  schemaVersion: 1;
  event: "notice" | "result" | "canceled" | "returned";
  kind: NoticeKind;
  action: string;
  noticeId: string;
  cluster: string | null;
  node: string;
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string | null;
  noticeTime: string;
  deadline: string;
  dryRun: boolean;
  plan: string[];
  test?: true;
  notAfter?: string;
  actionAt?: string;
  state?: "completed" | "canceled";
  returned?: ReturnReport;
  result?: {
    drained: boolean;
    drain: {
      status: DrainReport["status"];
      reason?: string;
      message?: string;
      resumed?: boolean;
    } | null;
    cordon: { status: string; message?: string } | null;
    wouldEvict?: string[];
    evicted: string[];
    remaining: PodOutcome[];
    failed: PodOutcome[];
    skipped: PodOutcome[];
    asg: AsgResult | null;
  };
}

/**
 * Build the generic webhook's body; see {@linkcode WebhookEventV1} for the schema.
 *
 * @example
 * ```ts
 * declare const message: Message;
 * JSON.stringify(webhookPayload(message)); // {"schemaVersion":1,"event":"notice",...}
 * ```
 */
export function webhookPayload(message: Message): WebhookEventV1 {
  const { notice, context } = message;
  const event: WebhookEventV1 = {
    schemaVersion: 1,
    event: message.phase === "start" ? "notice" : message.phase,
    kind: notice.kind,
    action: notice.action,
    noticeId: notice.id,
    cluster: context.cluster || null,
    node: context.node,
    instanceId: context.instanceId,
    instanceType: context.instanceType,
    availabilityZone: context.availabilityZone,
    region: context.region || null,
    noticeTime: notice.noticeTime.toISOString(),
    deadline: notice.deadline.toISOString(),
    dryRun: message.dryRun,
    plan: [...message.plan],
  };
  if (message.test) event.test = true;
  if (notice.notAfter) event.notAfter = notice.notAfter.toISOString();
  if (message.phase === "start" && message.actionAt) {
    event.actionAt = message.actionAt.toISOString();
  }
  if (message.phase === "canceled") event.state = message.state;
  if (message.phase === "returned") {
    event.returned = { ...message.returned, removed: [...message.returned.removed] };
  }
  if (message.phase === "result") {
    const { drain, asg, cordon } = message.report;
    const attempted = drain?.status === "drained" || drain?.status === "partial"
      ? drain
      : undefined;
    event.result = {
      drained: attempted !== undefined,
      drain: drain
        ? {
          status: drain.status,
          ...(drain.status === "not-run" ? { reason: drain.reason, message: drain.message } : {}),
          ...(attempted?.resumed ? { resumed: true } : {}),
        }
        : null,
      cordon: cordon ? { ...cordon } : null,
      ...(drain?.status === "dry-run" ? { wouldEvict: [...drain.wouldEvict] } : {}),
      evicted: attempted?.evicted ?? [],
      remaining: attempted?.remaining ?? [],
      failed: attempted?.failed ?? [],
      skipped: drain && "skipped" in drain ? drain.skipped : [],
      asg: asg ?? null,
    };
  }
  return event;
}

/**
 * Subject and plain text of a notification mail. The subject of a spot reclaim's start message
 * is the old script's "Spot Termination Notification"; the text names the cluster.
 *
 * @example
 * ```ts
 * declare const start: Message;
 * mailContent(start).subject; // "Spot Termination Notification"
 * ```
 */
export function mailContent(message: Message): { subject: string; text: string } {
  const title = noticeTitle(message.notice);
  const subject = message.phase === "start"
    ? `${title} Notification`
    : messageTitle(message).replace(/^\[TEST\] /, "");
  return {
    subject: `${message.test ? "[TEST] " : ""}${message.dryRun ? "[DRY RUN] " : ""}${subject}`,
    text: messageText(message),
  };
}
