/**
 * What one message becomes for one target: an HTTP request (body, content type, method) or a mail
 * to a server. One builder per target; lib/notify_targets.ts names each in the target's row.
 *
 * @module
 */

import type { Mail } from "./mail_syntax.ts";
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
import { webhookDelivery } from "./webhook_settings.ts";

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

/** Settings of the delivery that are not variables: where the Gmail target sends. */
export interface DeliverySettings {
  gmailServer: string;
}

/** A target's builder: the message, its set variables (trimmed), the settings. */
export type Deliver = (
  message: Message,
  env: Record<string, string>,
  settings: DeliverySettings,
) => Delivery;

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

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

/**
 * The addresses of a recipients variable: separated by commas, semicolons or white space.
 *
 * @example
 * ```ts
 * addresses("ops@example.com, oncall@example.com"); // ["ops@example.com", "oncall@example.com"]
 * ```
 */
export function addresses(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,;]+/).filter((a) => a !== "");
}

function withCredentials(server: string, user: string, pass: string): string {
  const url = new URL(server);
  // The setters leave "%" alone, so pre-encoding keeps a password such as "a%41" intact.
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(pass);
  return url.href;
}

function smtpFrom(env: Record<string, string>): string {
  if (env.EMAIL_FROM) return env.EMAIL_FROM;
  const url = new URL(env.SMTP_URL);
  const user = decodeURIComponent(url.username);
  return user.includes("@") ? user : `spot-termination-handler@${url.hostname}`;
}

/** Slack: the payload form-encoded, as the old script sent it. */
export const slackRequest: Deliver = (m, env) =>
  form(env.SLACK_URL, slackPayload(m, { channel: env.SLACK_CHANNEL }));

/** Mattermost: the payload form-encoded, with the optional overrides. */
export const mattermostRequest: Deliver = (m, env) =>
  form(
    env.MATTERMOST_WEBHOOK,
    mattermostPayload(m, {
      username: env.MATTERMOST_USERNAME,
      iconUrl: env.MATTERMOST_ICON_URL,
      channel: env.MATTERMOST_CHANNEL,
    }),
  );

/** Sematext: a JSON event. */
export const sematextRequest: Deliver = (m, env) => json(env.SEMATEXT_URL, sematextPayload(m));

/** WeChat: a GET with the key (when set), title and text as query parameters. */
export const wechatRequest: Deliver = (m, env) => {
  const url = new URL(env.WECHAT_URL);
  const { text, desp } = wechatQuery(m);
  if (env.WECHAT_KEY) url.searchParams.append("key", env.WECHAT_KEY);
  url.searchParams.append("text", text);
  url.searchParams.append("desp", desp);
  return { kind: "http", method: "GET", url: url.href };
};

/** Google Chat: a JSON `{text}`. */
export const googleChatRequest: Deliver = (m, env) => json(env.HANGOUTS_URL, googleChatPayload(m));

/** Teams: a JSON Adaptive Card. */
export const teamsRequest: Deliver = (m, env) => json(env.TEAMS_WEBHOOK, teamsPayload(m));

/** Discord: a JSON message with one embed. */
export const discordRequest: Deliver = (m, env) => json(env.DISCORD_WEBHOOK, discordPayload(m));

/** The generic webhook: its JSON document, or its template's rendering, with its headers. */
export const webhookRequest: Deliver = (m, env) => ({
  kind: "http",
  method: "POST",
  url: env.WEBHOOK_URL,
  ...webhookDelivery(m, env, () => JSON.stringify(webhookPayload(m))),
});

/** Gmail: a mail from the account, through the Gmail server with the app password. */
export const gmailRequest: Deliver = (m, env, settings) => {
  const from = env.GMAIL_USER.includes("@") ? env.GMAIL_USER : `${env.GMAIL_USER}@gmail.com`;
  return {
    kind: "mail",
    server: withCredentials(settings.gmailServer, from, env.GMAIL_PASS),
    mail: { from, to: addresses(env.GMAIL_EMAILTO), ...mailContent(m) },
  };
};

/** SMTP: a mail through `SMTP_URL`, from `EMAIL_FROM` or the SMTP user. */
export const smtpRequest: Deliver = (m, env) => ({
  kind: "mail",
  server: env.SMTP_URL,
  mail: { from: smtpFrom(env), to: addresses(env.EMAIL_TO), ...mailContent(m) },
});
