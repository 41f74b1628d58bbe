/**
 * The notification targets: one table row per target, keyed by the environment variables that
 * enable it, naming how each variable is checked and how a message is delivered. Adding a target
 * is adding one row to `TARGETS` (and its builder to lib/notify_requests.ts). This and its checks (lib/notify_env.ts) are all config needs, so checking the
 * settings never loads the delivery code or the SMTP client (lib/notify.ts).
 *
 * @module
 */

import {
  type Deliver,
  discordRequest,
  gmailRequest,
  googleChatRequest,
  mattermostRequest,
  sematextRequest,
  slackRequest,
  smtpRequest,
  teamsRequest,
  webhookRequest,
  wechatRequest,
} from "./notify_requests.ts";
import { webhookProblems } from "./webhook_settings.ts";

/**
 * One notifier environment variable, for `--help`, config and redaction.
 *
 * @example
 * ```ts
 * const v: NotifierVariable = {
 *   name: "SLACK_URL",
 *   target: "slack",
 *   secret: true,
 *   required: true,
 *   description: "Slack incoming webhook URL",
 * };
 * ```
 */
export interface NotifierVariable {
  name: string;
  /** The target it belongs to, e.g. `slack`. */
  target: string;
  /** Its value must never be logged (webhook URLs embed their token). */
  secret: boolean;
  /** Needed whenever the target is enabled. */
  required: boolean;
  description: string;
}

/** Notifier variables by name: set ones only, trimmed (see {@linkcode present}). */
export type Env = Record<string, string>;
/** How a variable's value is checked at start-up (lib/notify_env.ts). */
export type Format = "http-url" | "smtp-url" | "addresses" | "address";

/** One variable of a {@linkcode TargetSpec}. */
export interface VariableSpec {
  name: string;
  secret: boolean;
  required: boolean;
  description: string;
  format?: Format;
}

/** One row of {@linkcode TARGETS}. */
export interface TargetSpec {
  target: string;
  variables: VariableSpec[];
  /** Absent for targets that only earn a warning. */
  deliver?: Deliver;
  /** Why the target's variables are ignored. */
  retired?: string;
  /** Problems involving several of its variables, checked at start-up. */
  validate?: (env: Env) => string[];
}

function v(
  name: string,
  description: string,
  flags: { secret?: boolean; required?: boolean; format?: Format } = {},
): VariableSpec {
  return {
    name,
    description,
    secret: flags.secret ?? false,
    required: flags.required ?? false,
    format: flags.format,
  };
}

/** The table. Row order is the order of `--help` and of `targets`. */
export const TARGETS: readonly TargetSpec[] = [
  {
    target: "slack",
    variables: [
      v("SLACK_URL", "Slack incoming webhook URL", {
        secret: true,
        required: true,
        format: "http-url",
      }),
      v("SLACK_CHANNEL", "Slack channel override, e.g. #ops"),
    ],
    deliver: slackRequest,
  },
  {
    target: "mattermost",
    variables: [
      v("MATTERMOST_WEBHOOK", "Mattermost incoming webhook URL", {
        secret: true,
        required: true,
        format: "http-url",
      }),
      v("MATTERMOST_USERNAME", "Mattermost user name override"),
      v("MATTERMOST_ICON_URL", "Mattermost icon URL override", { format: "http-url" }),
      v("MATTERMOST_CHANNEL", "Mattermost channel override"),
    ],
    deliver: mattermostRequest,
  },
  {
    target: "sematext",
    variables: [
      v("SEMATEXT_URL", "Sematext events API URL (includes the app token)", {
        secret: true,
        required: true,
        format: "http-url",
      }),
    ],
    deliver: sematextRequest,
  },
  {
    target: "wechat",
    variables: [
      v("WECHAT_URL", "WeChat (ServerChan-style) push URL", {
        secret: true,
        required: true,
        format: "http-url",
      }),
      v("WECHAT_KEY", "WeChat push key, sent as the key query parameter", { secret: true }),
    ],
    deliver: wechatRequest,
  },
  {
    target: "google-chat",
    variables: [
      v("HANGOUTS_URL", "Google Chat (Hangouts Chat) incoming webhook URL", {
        secret: true,
        required: true,
        format: "http-url",
      }),
    ],
    deliver: googleChatRequest,
  },
  {
    target: "teams",
    variables: [
      v("TEAMS_WEBHOOK", "Microsoft Teams Workflows webhook URL (Adaptive Card)", {
        secret: true,
        required: true,
        format: "http-url",
      }),
    ],
    deliver: teamsRequest,
  },
  {
    target: "discord",
    variables: [
      v("DISCORD_WEBHOOK", "Discord webhook URL", {
        secret: true,
        required: true,
        format: "http-url",
      }),
    ],
    deliver: discordRequest,
  },
  {
    target: "webhook",
    variables: [
      v("WEBHOOK_URL", "generic JSON webhook URL (schemaVersion 1, see docs/notifications.md)", {
        secret: true,
        required: true,
        format: "http-url",
      }),
      v("WEBHOOK_HEADERS", "extra request headers: 'Name: value' lines or a JSON object", {
        secret: true,
      }),
      v("WEBHOOK_TEMPLATE", "Mustache template of the body (fields: docs/notifications.md)", {
        secret: true,
      }),
      v(
        "WEBHOOK_TEMPLATE_FILE",
        "file holding WEBHOOK_TEMPLATE, under /etc/spot-termination-handler",
      ),
      v("WEBHOOK_CONTENT_TYPE", "content type of the body; default application/json"),
    ],
    validate: webhookProblems,
    deliver: webhookRequest,
  },
  {
    target: "gmail",
    variables: [
      v("GMAIL_USER", "Gmail account that sends the mail", { required: true }),
      v("GMAIL_PASS", "Gmail app password", { secret: true, required: true }),
      v("GMAIL_EMAILTO", "mail recipients, comma-separated", {
        required: true,
        format: "addresses",
      }),
    ],
    deliver: gmailRequest,
  },
  {
    target: "smtp",
    variables: [
      v("SMTP_URL", "smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465", {
        secret: true,
        required: true,
        format: "smtp-url",
      }),
      v("EMAIL_TO", "mail recipients, comma-separated", { required: true, format: "addresses" }),
      v("EMAIL_FROM", "sender address; default the SMTP user when it is an address", {
        format: "address",
      }),
    ],
    deliver: smtpRequest,
  },
  {
    target: "hipchat",
    variables: [
      v("HIPCHAT_AUTH_TOKEN", "ignored: HipChat was shut down in 2019", { secret: true }),
      v("HIPCHAT_ROOM_ID", "ignored: HipChat was shut down in 2019"),
    ],
    retired: "HipChat was shut down in 2019; ignored",
  },
];

/**
 * Every notifier variable, derived from the table, in table order.
 *
 * @example
 * ```ts
 * const secretNames = NOTIFIER_VARIABLES.filter((v) => v.secret).map((v) => v.name);
 * ```
 */
export const NOTIFIER_VARIABLES: readonly NotifierVariable[] = TARGETS.flatMap((t) =>
  t.variables.map(({ name, secret, required, description }) => ({
    name,
    target: t.target,
    secret,
    required,
    description,
  }))
);

/** Set variables only, trimmed: an empty value means unset, as in the old script. */
export function present(env: Env): Env {
  const out: Env = {};
  for (const { name } of NOTIFIER_VARIABLES) {
    const value = env[name]?.trim();
    if (value) out[name] = value;
  }
  return out;
}

/** A target is requested when any of its required variables is set. */
export function requested(spec: TargetSpec, env: Env): boolean {
  return spec.variables.some((x) => x.required && env[x.name] !== undefined);
}
