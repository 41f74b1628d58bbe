// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * The notification targets: one table row per target, keyed by the environment variables that
 * enable it, and the start-up checks of those variables. Adding a target is adding one row to
 * `TARGETS`. This is all config needs, so checking the settings never loads the delivery code
 * or the SMTP client (lib/notify.ts).
 *
 * @module
 */

import { isEmailAddress, type Mail, parseSmtpUrl } from "./mail_syntax.ts";
import type { Message } from "./notify_message.ts";
import {
  discordPayload,
  googleChatPayload,
  mailContent,
  mattermostPayload,
  sematextPayload,
  slackPayload,
  teamsPayload,
  wechatQuery,
} from "./notify_payloads.ts";
import { webhookPayload } from "./notify_webhook_event.ts";
import { webhookDelivery, webhookProblems } from "./webhook_settings.ts";

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
type Format = "http-url" | "smtp-url" | "addresses" | "address";

interface VariableSpec {
  name: string;
  secret: boolean;
  required: boolean;
  description: string;
  format?: Format;
}

/** What one message becomes for one target: an HTTP request or a mail. */
export type Delivery =
  | {
    kind: "http";
    method: "GET" | "POST";
    url: string;
    contentType?: string;
    body?: string;
    headers?: Record<string, string>;
  }
  | { kind: "mail"; server: string; mail: Mail };

/** One row of {@linkcode TARGETS}. */
export interface TargetSpec {
  target: string;
  variables: VariableSpec[];
  /** Absent for targets that only earn a warning. */
  deliver?: (message: Message, env: Env, settings: { gmailServer: string }) => Delivery;
  /** Why the target's variables are ignored. */
  retired?: string;
  /** Problems involving several of its variables, checked at start-up. */
  validate?: (env: Env) => string[];
}

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

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

function form(url: string, payload: object): Delivery {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  return { kind: "http", method: "POST", url, contentType: FORM, body };
}

function json(url: string, payload: object): Delivery {
  return {
    kind: "http",
    method: "POST",
    url,
    contentType: JSON_TYPE,
    body: JSON.stringify(payload),
  };
}

function addresses(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,;]+/).filter((a) => a !== "");
}

function withCredentials(server: string, user: string, pass: string): string {
  const url = new URL(server);
  // The setters leave "%" alone, so pre-encoding keeps a password such as "a%41" intact.
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(pass);
  return url.href;
}

function smtpFrom(env: Env): string {
  if (env.EMAIL_FROM) return env.EMAIL_FROM;
  const url = new URL(env.SMTP_URL);
  const user = decodeURIComponent(url.username);
  return user.includes("@") ? user : `spot-termination-handler@${url.hostname}`;
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
    deliver: (m, env) => form(env.SLACK_URL, slackPayload(m, { channel: env.SLACK_CHANNEL })),
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
    deliver: (m, env) =>
      form(
        env.MATTERMOST_WEBHOOK,
        mattermostPayload(m, {
          username: env.MATTERMOST_USERNAME,
          iconUrl: env.MATTERMOST_ICON_URL,
          channel: env.MATTERMOST_CHANNEL,
        }),
      ),
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
    deliver: (m, env) => json(env.SEMATEXT_URL, sematextPayload(m)),
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
    deliver: (m, env) => {
      const url = new URL(env.WECHAT_URL);
      const { text, desp } = wechatQuery(m);
      if (env.WECHAT_KEY) url.searchParams.append("key", env.WECHAT_KEY);
      url.searchParams.append("text", text);
      url.searchParams.append("desp", desp);
      return { kind: "http", method: "GET", url: url.href };
    },
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
    deliver: (m, env) => json(env.HANGOUTS_URL, googleChatPayload(m)),
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
    deliver: (m, env) => json(env.TEAMS_WEBHOOK, teamsPayload(m)),
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
    deliver: (m, env) => json(env.DISCORD_WEBHOOK, discordPayload(m)),
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
    deliver: (m, env) => ({
      kind: "http",
      method: "POST",
      url: env.WEBHOOK_URL,
      ...webhookDelivery(m, env, () => JSON.stringify(webhookPayload(m))),
    }),
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
    deliver: (m, env, settings) => {
      const from = env.GMAIL_USER.includes("@") ? env.GMAIL_USER : `${env.GMAIL_USER}@gmail.com`;
      return {
        kind: "mail",
        server: withCredentials(settings.gmailServer, from, env.GMAIL_PASS),
        mail: { from, to: addresses(env.GMAIL_EMAILTO), ...mailContent(m) },
      };
    },
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
    deliver: (m, env) => ({
      kind: "mail",
      server: env.SMTP_URL,
      mail: { from: smtpFrom(env), to: addresses(env.EMAIL_TO), ...mailContent(m) },
    }),
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

function formatProblem(spec: VariableSpec, value: string): string | undefined {
  switch (spec.format) {
    case "http-url": {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `${spec.name}: not an http(s) URL`;
      }
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname
        ? undefined
        : `${spec.name}: not an http(s) URL`;
    }
    case "smtp-url":
      try {
        parseSmtpUrl(value);
        return undefined;
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return `${spec.name}: ${detail.replace(/^SMTP server URL: /, "")}`;
      }
    case "addresses": {
      const list = addresses(value);
      const bad = list.find((a) => !isEmailAddress(a));
      if (bad !== undefined) return `${spec.name}: ${JSON.stringify(bad)} is not an e-mail address`;
      return list.length === 0 ? `${spec.name}: no address` : undefined;
    }
    case "address": {
      const angle = /^[^<>\r\n]*<([^<>\s]+)>$/.exec(value);
      return isEmailAddress(angle ? angle[1] : value)
        ? undefined
        : `${spec.name}: ${JSON.stringify(value)} is not an e-mail address`;
    }
    default:
      return undefined;
  }
}

/**
 * Problems that must stop start-up, one per line, each naming the variable and never
 * repeating a secret value: a malformed URL or address, or a target's required variable missing
 * while another of its required variables is set.
 *
 * @example
 * ```ts
 * validateNotifierEnv({ SLACK_URL: "hooks.slack.com/x" }); // ["SLACK_URL: not an http(s) URL"]
 * validateNotifierEnv({ SMTP_URL: "smtp://mail:587" }); // ["EMAIL_TO: required with SMTP_URL"]
 * ```
 */
export function validateNotifierEnv(env: Record<string, string>): string[] {
  const values = present(env);
  const problems: string[] = [];
  for (const spec of TARGETS) {
    if (spec.retired || !requested(spec, values)) continue;
    const set = spec.variables.filter((x) => x.required && values[x.name] !== undefined)
      .map((x) => x.name);
    for (const variable of spec.variables) {
      const value = values[variable.name];
      if (value === undefined) {
        if (variable.required) problems.push(`${variable.name}: required with ${set.join(", ")}`);
        continue;
      }
      const problem = formatProblem(variable, value);
      if (problem) problems.push(problem);
    }
    if (spec.validate) problems.push(...spec.validate(values));
  }
  return problems;
}

/**
 * Settings that are ignored but worth telling the operator about: HipChat's variables, and
 * optional variables of a target that is not enabled (e.g. `SLACK_CHANNEL` without `SLACK_URL`).
 *
 * @example
 * ```ts
 * notifierWarnings({ HIPCHAT_AUTH_TOKEN: "t", HIPCHAT_ROOM_ID: "1" });
 * // ["HIPCHAT_AUTH_TOKEN, HIPCHAT_ROOM_ID: HipChat was shut down in 2019; ignored"]
 * ```
 */
export function notifierWarnings(env: Record<string, string>): string[] {
  const values = present(env);
  const warnings: string[] = [];
  for (const spec of TARGETS) {
    const set = spec.variables.filter((x) => values[x.name] !== undefined).map((x) => x.name);
    if (set.length === 0) continue;
    if (spec.retired) {
      warnings.push(`${set.join(", ")}: ${spec.retired}`);
    } else if (!requested(spec, values)) {
      const needed = spec.variables.filter((x) => x.required).map((x) => x.name);
      warnings.push(`${set.join(", ")}: set without ${needed.join(", ")}; ignored`);
    }
  }
  return warnings;
}
