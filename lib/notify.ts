/**
 * Notifications: one table row per target, keyed by the environment variables that enable it,
 * and a sender that delivers one message to every enabled target at once, each attempt bounded
 * by a timeout, with bounded retries. Adding a target is adding one row to `TARGETS`.
 *
 * Secrets (webhook URLs, keys, passwords) never reach a log line, an error or an outcome: errors
 * are described by status, and any text from below (fetch, SMTP) is scrubbed of URLs and of
 * every secret value before it is used.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import {
  discordPayload,
  googleChatPayload,
  mailContent,
  mattermostPayload,
  type Message,
  sematextPayload,
  slackPayload,
  teamsPayload,
  webhookPayload,
  wechatQuery,
} from "./notify_payloads.ts";
import { readBounded } from "./body.ts";
import { createSmtpSender, type Mail, SmtpError, type SmtpSender } from "./smtp.ts";
import { webhookDelivery, webhookProblems } from "./webhook_template.ts";

export type { Message, NotifyContext, WebhookEventV1 } from "./notify_payloads.ts";

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

/**
 * How one target's delivery went. `error` never contains a URL, key or password.
 *
 * @example
 * ```ts
 * const failed: SendOutcome = { target: "slack", ok: false, attempts: 3, error: "HTTP 503" };
 * ```
 */
export interface SendOutcome {
  target: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

/**
 * Sends one message to every enabled target.
 *
 * @example
 * ```ts
 * const outcomes = await notifier.send(message, { signal: AbortSignal.timeout(20_000) });
 * const failed = outcomes.filter((o) => !o.ok).map((o) => o.target);
 * ```
 */
export interface Notifier {
  /** Enabled targets, in table order. */
  readonly targets: string[];
  /**
   * Deliver to all targets concurrently; never throws; one outcome per target. A result
   * message goes to each target once that target's start message for the same notice (if one
   * was sent through this notifier) has been delivered or has failed, independently of the
   * other targets: the caller need not wait for the start before sending the result.
   */
  send(message: Message, options?: { signal?: AbortSignal }): Promise<SendOutcome[]>;
}

/**
 * Options of {@linkcode createNotifier}.
 *
 * @example
 * ```ts
 * const options: NotifierOptions = { logger: createLogger(), metrics, timeoutMs: 5000, retries: 3 };
 * ```
 */
export interface NotifierOptions {
  logger: Logger;
  metrics?: Metrics;
  fetch?: typeof fetch;
  /** Bound on one attempt: an HTTP request or a whole SMTP transaction. Default 5000 ms. */
  timeoutMs?: number;
  /** Attempts in total per target and message. Default 3. */
  retries?: number;
  /** Waits between attempts; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Mail transport: one sender for every mail target, or a factory given the server URL. */
  smtp?: SmtpSender | ((serverUrl: string) => SmtpSender);
  /** Server of the Gmail target, default `smtps://smtp.gmail.com:465`; for tests. */
  gmailServer?: string;
}

type Env = Record<string, string>;
type Format = "http-url" | "smtp-url" | "addresses" | "address";

interface VariableSpec {
  name: string;
  secret: boolean;
  required: boolean;
  description: string;
  format?: Format;
}

type Delivery =
  | {
    kind: "http";
    method: "GET" | "POST";
    url: string;
    contentType?: string;
    body?: string;
    headers?: Record<string, string>;
  }
  | { kind: "mail"; server: string; mail: Mail };

interface TargetSpec {
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
const GMAIL_SERVER = "smtps://smtp.gmail.com:465";
const BACKOFF_BASE_MS = 500;
const RETRY_AFTER_CAP_MS = 10_000;
const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+$/;
/** Redirects followed at most per request (307/308 to the same origin only). */
const MAX_REDIRECTS = 2;
/** Bytes of an error response kept for the log: enough for Slack's or Teams's error text. */
const ERROR_BODY_BYTES = 1024;
/** Notices whose start messages are remembered for their results (see `send`). */
const REMEMBERED_NOTICES = 16;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

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
const TARGETS: readonly TargetSpec[] = [
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
function present(env: Env): Env {
  const out: Env = {};
  for (const { name } of NOTIFIER_VARIABLES) {
    const value = env[name]?.trim();
    if (value) out[name] = value;
  }
  return out;
}

/** A target is requested when any of its required variables is set. */
function requested(spec: TargetSpec, env: Env): boolean {
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
        createSmtpSender(value);
        return undefined;
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return `${spec.name}: ${detail.replace(/^SMTP server URL: /, "")}`;
      }
    case "addresses": {
      const list = addresses(value);
      const bad = list.find((a) => !ADDRESS.test(a));
      if (bad !== undefined) return `${spec.name}: ${JSON.stringify(bad)} is not an e-mail address`;
      return list.length === 0 ? `${spec.name}: no address` : undefined;
    }
    case "address": {
      const angle = /^[^<>\r\n]*<([^<>\s]+)>$/.exec(value);
      return ADDRESS.test(angle ? angle[1] : value)
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

/** Secret values, and pieces of secret URLs, as they may appear in a library's error text. */
function secretFragments(values: Env): string[] {
  const fragments = new Set<string>();
  const addPart = (part: string) => {
    // Short pieces ("/", "/send") are not secret and would only garble other words.
    if (part.length < 6) return;
    fragments.add(part);
    try {
      fragments.add(decodeURIComponent(part));
    } catch {
      // Not percent-encoded text; the raw part is already listed.
    }
  };
  for (const variable of NOTIFIER_VARIABLES) {
    const value = values[variable.name];
    if (!variable.secret || value === undefined) continue;
    fragments.add(value);
    fragments.add(encodeURIComponent(value));
    try {
      const url = new URL(value);
      [url.href, url.username, url.password, url.pathname, url.search.slice(1)].forEach(addPart);
      url.searchParams.forEach(addPart);
    } catch {
      // Not a URL (a key or password): the value itself is listed.
    }
  }
  // Longest first, so a whole value is replaced before its parts.
  return [...fragments].filter((f) => f.length >= 3).sort((a, b) => b.length - a.length);
}

/**
 * Remove every URL first (a library may quote one we never saw, e.g. a redirect's), then any
 * secret value left, e.g. a key or password quoted on its own.
 */
function scrub(text: string, fragments: string[]): string {
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s()"'<>]*/gi, "[redacted URL]");
  for (const fragment of fragments) out = out.split(fragment).join("[redacted]");
  return out;
}

function parseRetryAfter(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS) : undefined;
}

type Attempt =
  | { ok: true }
  | {
    ok: false;
    retry: boolean;
    status: string;
    error: string;
    retryAfterMs?: number;
    /** The start of the error response's body, scrubbed, for the log line. */
    response?: string;
  };

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wait `ms`, or less when the signal aborts. */
async function pause(
  ms: number,
  sleep: (ms: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (!signal) return await sleep(ms);
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([sleep(ms), aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Create the notifier for the enabled targets in `env` (only the notifier variables; config
 * passes them). Throws a TypeError listing the problems of {@linkcode validateNotifierEnv}
 * when `env` is invalid; config reports those at start-up before getting here.
 *
 * Retries: 5xx, 408, 429 (waiting `Retry-After`, capped at 10 s), timeouts, network errors and
 * SMTP 4xx replies are retried with exponential backoff (0.5 s, 1 s, ...); other 4xx replies and
 * SMTP 5xx replies are final.
 *
 * @example
 * ```ts
 * const notifier = createNotifier({ SLACK_URL: "https://hooks.slack.com/services/T/B/X" }, {
 *   logger: createLogger(),
 * });
 * const outcomes = await notifier.send(message); // [{ target: "slack", ok: true, attempts: 1 }]
 * ```
 */
export function createNotifier(env: Record<string, string>, options: NotifierOptions): Notifier {
  const problems = validateNotifierEnv(env);
  if (problems.length > 0) throw new TypeError(`notifier settings: ${problems.join("; ")}`);
  const values = present(env);
  const active = TARGETS.filter((t) => t.deliver && requested(t, values));
  const fragments = secretFragments(values);
  const { logger, metrics } = options;
  const fetchFn = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const attempts = Math.max(1, options.retries ?? 3);
  const sleep = options.sleep ?? defaultSleep;
  const settings = { gmailServer: options.gmailServer ?? GMAIL_SERVER };
  const smtp = options.smtp;
  const smtpFor = (server: string): SmtpSender =>
    smtp === undefined
      ? createSmtpSender(server)
      : typeof smtp === "function"
      ? smtp(server)
      : smtp;

  /** The error's message and its causes' (fetch puts the useful part, and the URL, there). */
  function describe(error: unknown): string {
    const parts: string[] = [];
    let current: unknown = error;
    for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
      const text = current instanceof Error ? current.message : String(current);
      // Our own errors already quote their cause; do not say it twice.
      if (!parts.some((p) => p.includes(text))) parts.push(text);
      current = current instanceof Error ? current.cause : undefined;
    }
    return scrub(parts.join(": "), fragments);
  }

  /** Run one attempt with its own timeout, also ended by the caller's signal. */
  async function bounded(
    signal: AbortSignal | undefined,
    work: (signal: AbortSignal) => Promise<Attempt>,
    fail: (error: unknown) => Attempt,
  ): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await work(controller.signal);
    } catch (error) {
      if (signal?.aborted) return { ok: false, retry: false, status: "aborted", error: "aborted" };
      if (timedOut) {
        return {
          ok: false,
          retry: true,
          status: "timeout",
          error: `timed out after ${timeoutMs} ms`,
        };
      }
      return fail(error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  function attemptHttp(
    delivery: Extract<Delivery, { kind: "http" }>,
    signal?: AbortSignal,
  ): Promise<Attempt> {
    return bounded(signal, async (attemptSignal) => {
      const headers: Record<string, string> = { "user-agent": "spot-termination-handler" };
      Object.assign(headers, delivery.headers);
      if (delivery.contentType) headers["content-type"] = delivery.contentType;
      // Redirects are handled here, not by fetch: fetch turns a 302 into a GET without the
      // body (the message is lost while the answer looks fine) and re-sends a 307's body to
      // any host. Only a 307/308 to the same origin keeps method, body and destination.
      let url = delivery.url;
      let response: Response;
      for (let hops = 0;; hops++) {
        response = await fetchFn(url, {
          method: delivery.method,
          headers,
          body: delivery.body,
          signal: attemptSignal,
          redirect: "manual",
        });
        if (!REDIRECTS.has(response.status)) break;
        await response.body?.cancel().catch(() => {});
        const status = response.status;
        let next: URL | undefined;
        try {
          next = new URL(response.headers.get("location") ?? "", url);
        } catch {
          next = undefined;
        }
        const sameOrigin = next !== undefined && next.origin === new URL(url).origin;
        if ((status === 307 || status === 308) && sameOrigin && hops < MAX_REDIRECTS) {
          url = next!.href;
          continue;
        }
        const why = !sameOrigin
          ? "to another host"
          : status === 307 || status === 308
          ? "too many times"
          : "(only 307/308 keep the message)";
        return {
          ok: false,
          retry: false,
          status: String(status),
          error: `HTTP ${status} redirect ${why} not followed`,
        };
      }
      if (response.ok) {
        // The body is not used; cancelling frees the connection.
        await response.body?.cancel().catch(() => {});
        return { ok: true };
      }
      const status = response.status;
      const text = await readBounded(response, ERROR_BODY_BYTES, { truncate: true })
        .catch(() => "");
      return {
        ok: false,
        retry: status === 408 || status === 429 || status >= 500,
        status: String(status),
        error: `HTTP ${status}`,
        retryAfterMs: status === 429 || status === 503
          ? parseRetryAfter(response.headers.get("retry-after"), Date.now())
          : undefined,
        response: scrub(text.replace(/\s+/g, " ").trim(), fragments).slice(0, 200) ||
          undefined,
      };
    }, (error) => ({
      ok: false,
      retry: true,
      status: "network",
      error: `network error: ${describe(error)}`,
    }));
  }

  function attemptMail(
    delivery: Extract<Delivery, { kind: "mail" }>,
    signal?: AbortSignal,
  ): Promise<Attempt> {
    return bounded(signal, async (attemptSignal) => {
      await smtpFor(delivery.server).send(delivery.mail, { signal: attemptSignal });
      return { ok: true };
    }, (error) =>
      error instanceof SmtpError
        ? {
          ok: false,
          retry: error.transient,
          status: error.code === undefined ? error.step : String(error.code),
          error: describe(error),
        }
        : { ok: false, retry: false, status: "invalid", error: describe(error) });
  }

  async function deliver(
    spec: TargetSpec,
    message: Message,
    signal?: AbortSignal,
  ): Promise<SendOutcome> {
    const target = spec.target;
    const delivery = spec.deliver!(message, values, settings);
    if (signal?.aborted) {
      metrics?.inc("sth_notifications_total", { target, outcome: "failed" });
      logger.warn("notification not sent", { target, status: "aborted" });
      return { target, ok: false, attempts: 0, error: "aborted" };
    }
    for (let attempt = 1;; attempt++) {
      const result = delivery.kind === "http"
        ? await attemptHttp(delivery, signal)
        : await attemptMail(delivery, signal);
      if (result.ok) {
        metrics?.inc("sth_notifications_total", { target, outcome: "ok" });
        logger.info("notification sent", { target, phase: message.phase, attempts: attempt });
        return { target, ok: true, attempts: attempt };
      }
      if (!result.retry || attempt >= attempts || signal?.aborted) {
        metrics?.inc("sth_notifications_total", { target, outcome: "failed" });
        logger.warn("notification failed", {
          target,
          status: result.status,
          attempts: attempt,
          error: result.error,
          response: result.response,
        });
        return { target, ok: false, attempts: attempt, error: result.error };
      }
      const waitMs = result.retryAfterMs ?? BACKOFF_BASE_MS * 2 ** (attempt - 1);
      logger.debug("notification attempt failed; retrying", {
        target,
        status: result.status,
        attempt,
        waitMs,
      });
      await pause(waitMs, sleep, signal);
    }
  }

  function deliverSafely(spec: TargetSpec, message: Message, signal?: AbortSignal) {
    return deliver(spec, message, signal).catch((error): SendOutcome => {
      // A payload builder or logger failing must not fail the handler.
      metrics?.inc("sth_notifications_total", { target: spec.target, outcome: "failed" });
      const detail = describe(error);
      logger.warn("notification failed", { target: spec.target, error: detail });
      return { target: spec.target, ok: false, attempts: 0, error: detail };
    });
  }

  // Start deliveries by notice id and target: a result waits for its own target's start only,
  // so one slow or dead target never holds back the others' results.
  const starts = new Map<string, Map<string, Promise<SendOutcome>>>();

  return {
    targets: active.map((t) => t.target),
    send(message, sendOptions = {}) {
      const id = message.notice.id;
      if (message.phase === "start") {
        const byTarget = new Map<string, Promise<SendOutcome>>();
        const all = active.map((spec) => {
          const p = deliverSafely(spec, message, sendOptions.signal);
          byTarget.set(spec.target, p);
          return p;
        });
        starts.delete(id);
        starts.set(id, byTarget);
        // Bounded: a start whose result never comes (a crash, a dropped notice) is forgotten.
        while (starts.size > REMEMBERED_NOTICES) starts.delete(starts.keys().next().value!);
        return Promise.all(all);
      }
      const byTarget = starts.get(id);
      starts.delete(id);
      return Promise.all(active.map(async (spec) => {
        await byTarget?.get(spec.target);
        return deliverSafely(spec, message, sendOptions.signal);
      }));
    },
  };
}
