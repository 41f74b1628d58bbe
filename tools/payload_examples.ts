/**
 * The example payloads shown in docs/notifications.md, built by the real payload builders from one
 * fixed notice, so tests/readme_test.ts can check the page still shows what is sent.
 * `deno task readme` rewrites the generated part of that page.
 *
 * @module
 */

import type { Notice } from "../lib/notice.ts";
import { NOTIFIER_VARIABLES } from "../lib/notify_targets.ts";
import { TEMPLATE_FIELDS, type TemplateField } from "../lib/webhook_fields.ts";
import { noArguments } from "./cli.ts";
import {
  discordPayload,
  googleChatPayload,
  mailContent,
  mattermostPayload,
  sematextPayload,
  slackPayload,
  teamsPayload,
  wechatQuery,
} from "../lib/notify_payloads.ts";
import type { Message } from "../lib/notify_message.ts";
import { webhookPayload } from "../lib/notify_webhook_event.ts";

const notice: Notice = {
  id: "spot-interruption:2026-11-25T10:02:00Z",
  kind: "spot-interruption",
  action: "terminate",
  noticeTime: new Date("2026-11-25T10:02:00Z"),
  deadline: new Date("2026-11-25T10:01:55Z"),
  raw: '{"action":"terminate","time":"2026-11-25T10:02:00Z"}',
};

/** The start message every example is built from. */
export const EXAMPLE_START: Message = {
  phase: "start",
  notice,
  context: {
    cluster: "prod",
    node: "ip-10-0-1-23.ec2.internal",
    instanceId: "i-0123456789abcdef0",
    instanceType: "m5.large",
    availabilityZone: "us-east-1a",
    region: "us-east-1",
  },
  dryRun: false,
  plan: ["cordon", "taint", "drain", "detach-asg"],
};

/** The result message of the generic webhook example. */
export const EXAMPLE_RESULT: Message = {
  ...EXAMPLE_START,
  phase: "result",
  report: {
    drain: {
      status: "partial",
      evicted: ["default/web-5d8f7b9c4d-k2x9p", "default/cache-0"],
      remaining: [{
        pod: "default/payments-0",
        reason: "blocked by PodDisruptionBudget until deadline",
      }],
      failed: [],
      skipped: [{ pod: "kube-system/kube-proxy-7bq4s", reason: "DaemonSet pod" }],
    },
    asg: { status: "detached", group: "spot-workers" },
  },
};

/** The back-in-service message of the generic webhook example: a spot stop whose node came back. */
export const EXAMPLE_RETURNED: Message = {
  ...EXAMPLE_START,
  notice: { ...notice, action: "stop" },
  phase: "returned",
  plan: [],
  returned: {
    why: "rebooted",
    uncordoned: true,
    removed: [
      "taint spot-termination-handler/notice",
      "label node.kubernetes.io/exclude-from-external-load-balancers",
    ],
  },
};

/** One example per target: which request it is and its body. */
export interface PayloadExample {
  target: string;
  request: string;
  body: string;
}

/**
 * Build every example.
 *
 * @example
 * ```ts
 * examplePayloads().find((e) => e.target === "Slack")!.body; // JSON of the form field `payload`
 * ```
 */
export function examplePayloads(): PayloadExample[] {
  const j = (v: unknown) => JSON.stringify(v, null, 2);
  const wechat = wechatQuery(EXAMPLE_START);
  const mail = mailContent(EXAMPLE_START);
  return [
    {
      target: "Slack",
      request: "POST, form-encoded, field `payload`",
      body: j(slackPayload(EXAMPLE_START, { channel: "#ops" })),
    },
    {
      target: "Mattermost",
      request: "POST, form-encoded, field `payload`",
      body: j(mattermostPayload(EXAMPLE_START, { username: "spot-bot" })),
    },
    { target: "Sematext", request: "POST, JSON", body: j(sematextPayload(EXAMPLE_START)) },
    {
      target: "WeChat",
      request: "GET, query `key`, `text`, `desp`",
      body: j({ key: "<WECHAT_KEY>", ...wechat }),
    },
    { target: "Google Chat", request: "POST, JSON", body: j(googleChatPayload(EXAMPLE_START)) },
    { target: "Microsoft Teams", request: "POST, JSON", body: j(teamsPayload(EXAMPLE_START)) },
    { target: "Discord", request: "POST, JSON", body: j(discordPayload(EXAMPLE_START)) },
    { target: "E-mail", request: "SMTP", body: `Subject: ${mail.subject}\n\n${mail.text}` },
    {
      target: "Generic webhook (notice)",
      request: "POST, JSON",
      body: j(webhookPayload(EXAMPLE_START)),
    },
    {
      target: "Generic webhook (result)",
      request: "POST, JSON",
      body: j(webhookPayload(EXAMPLE_RESULT)),
    },
    {
      target: "Generic webhook (returned)",
      request: "POST, JSON",
      body: j(webhookPayload(EXAMPLE_RETURNED)),
    },
  ];
}

const TARGET_OF_EXAMPLE: Record<string, string> = {
  Slack: "slack",
  Mattermost: "mattermost",
  Sematext: "sematext",
  WeChat: "wechat",
  "Google Chat": "google-chat",
  "Microsoft Teams": "teams",
  Discord: "discord",
  "E-mail": "email",
  "Generic webhook (notice)": "webhook",
  "Generic webhook (result)": "webhook",
  "Generic webhook (returned)": "webhook",
};

/** The page that holds the generated examples, relative to the repository root. */
export const NOTIFICATIONS_DOC = "docs/notifications.md";

/** Markers around the generated part of {@linkcode NOTIFICATIONS_DOC}. */
export const NOTIFICATIONS_MARKERS = {
  start: "<!-- notifications:start (generated by deno task readme) -->",
  end: "<!-- notifications:end -->",
} as const;

/**
 * The per-target sections: variables from the notifier table, then the example payload.
 *
 * @example
 * ```ts
 * notificationsMarkdown().startsWith("### Slack"); // true
 * ```
 */
export function notificationsMarkdown(): string {
  const out: string[] = [];
  const shown = new Set<string>();
  for (const e of examplePayloads()) {
    const key = TARGET_OF_EXAMPLE[e.target];
    const vars = NOTIFIER_VARIABLES.filter((v) =>
      v.target === key || (key === "email" && (v.target === "gmail" || v.target === "smtp"))
    );
    if (!shown.has(key)) {
      shown.add(key);
      out.push(`### ${e.target.replace(/ \(notice\)$/, "")}`, "");
      out.push("| variable | required | meaning |", "|---|---|---|");
      for (const v of vars) {
        out.push(
          `| \`${v.name}\` | ${v.required ? "yes" : "no"} | ${v.description}${
            v.secret ? " (secret)" : ""
          } |`,
        );
      }
      out.push("");
    }
    const lang = e.target === "E-mail" ? "text" : "json";
    out.push(
      `<details><summary>${e.target}: ${e.request}</summary>`,
      "",
      "```" + lang,
      e.body,
      "```",
      "",
      "</details>",
      "",
    );
  }
  return out.join("\n");
}

/** Markers around the generated table of template fields. */
export const TEMPLATE_FIELD_MARKERS = {
  start: "<!-- template-fields:start (generated by deno task readme) -->",
  end: "<!-- template-fields:end -->",
} as const;

/**
 * The table of the fields a webhook template may use, nested fields as `result.asg.status`.
 *
 * @example
 * ```ts
 * templateFieldsMarkdown().includes("`noticeId`"); // true
 * ```
 */
export function templateFieldsMarkdown(): string {
  const rows: string[] = ["| field | meaning |", "|---|---|"];
  const walk = (fields: readonly TemplateField[], prefix: string) => {
    for (const f of fields) {
      rows.push(`| \`${prefix}${f.name}\` | ${f.description.replace(/\|/g, "\\|")} |`);
      if (f.fields && f.name !== "remaining" && f.name !== "failed" && f.name !== "skipped") {
        walk(f.fields, `${prefix}${f.name}.`);
      }
    }
  };
  walk(TEMPLATE_FIELDS, "");
  rows.push(
    "| `pod`, `reason` | inside `{{#result.remaining}}`, `{{#result.failed}}`, `{{#result.skipped}}` |",
  );
  return rows.join("\n");
}

function replaceBetween(text: string, markers: { start: string; end: string }, body: string) {
  const a = text.indexOf(markers.start);
  const b = text.indexOf(markers.end);
  if (a < 0 || b < a) throw new Error(`${NOTIFICATIONS_DOC}: markers ${markers.start} not found`);
  return text.slice(0, a + markers.start.length) + "\n\n" + body + "\n" + text.slice(b);
}

/** Replace the generated parts of the notifications page's text. */
export function updateNotificationsDoc(text: string): string {
  return replaceBetween(
    replaceBetween(text, TEMPLATE_FIELD_MARKERS, templateFieldsMarkdown()),
    NOTIFICATIONS_MARKERS,
    notificationsMarkdown(),
  );
}

if (import.meta.main) {
  noArguments("payload_examples.ts", Deno.args);
  const path = new URL(`../${NOTIFICATIONS_DOC}`, import.meta.url);
  await Deno.writeTextFile(path, updateNotificationsDoc(await Deno.readTextFile(path)));
  console.log(`${NOTIFICATIONS_DOC}: notification examples regenerated`);
}
