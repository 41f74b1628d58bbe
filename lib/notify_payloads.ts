/**
 * What each notification target receives: pure functions from a {@linkcode Message} to a
 * request body. The shapes of the old script's `entrypoint.sh` are kept (field names, titles,
 * colours, even the extra space in Mattermost's and Sematext's titles), with valid JSON and the
 * notice kind, deadline, plan and dry-run flag added as extra fields or lines.
 *
 * @module
 */

import type { NoticeKind } from "./notice.ts";
import { detailFields, instanceFields, messageText } from "./notify_fields.ts";
import {
  baseText,
  clusterSuffix,
  type Message,
  messageTitle,
  noticeTitle,
  type Severity,
  severity,
} from "./notify_message.ts";

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
 * import type { Message } from "./notify_message.ts";
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
 * import type { Message } from "./notify_message.ts";
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
 * import type { Message } from "./notify_message.ts";
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
 * import type { Message } from "./notify_message.ts";
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
 * import type { Message } from "./notify_message.ts";
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
 * import type { Message } from "./notify_message.ts";
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
 * import type { Message } from "./notify_message.ts";
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
 * Subject and plain text of a notification mail. The subject of a spot reclaim's start message
 * is the old script's "Spot Termination Notification"; the text names the cluster.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
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
