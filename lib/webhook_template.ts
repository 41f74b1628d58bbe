// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * The generic webhook's optional template and headers, so one webhook can speak PagerDuty Events
 * v2, Opsgenie, Chime or an authenticated relay: `WEBHOOK_TEMPLATE` (or `WEBHOOK_TEMPLATE_FILE`)
 * is a Mustache template rendered from the fields in {@linkcode TEMPLATE_FIELDS},
 * `WEBHOOK_CONTENT_TYPE` says what it renders, `WEBHOOK_HEADERS` adds request headers.
 *
 * Mustache (npm `mustache`, the reference JavaScript implementation of the spec) is logic-less:
 * a template can only insert values and repeat or skip sections, and it is interpreted token by
 * token, never compiled to code. The view handed to it is plain data without prototypes or
 * functions, and every name a template uses must be a documented field, so a template cannot reach
 * anything else (no `constructor`, no lambdas, no partials). Every problem is found at start-up,
 * when the template is parsed and rendered for an example notice, never at the notice.
 *
 * Mustache is imported only when a template is configured ({@linkcode loadTemplateEngine}): as
 * the idle handler's one npm module it would cost ~3 MiB of RSS on every node.
 *
 * @module
 */

// @ts-types="@types/mustache"
import type MustacheApi from "mustache";
import type { Notice } from "./notice.ts";
import { CONFIG_DIR } from "./permissions.ts";
import {
  baseText,
  type Message,
  messageText,
  messageTitle,
  severity,
  webhookPayload,
} from "./notify_payloads.ts";

type Engine = typeof MustacheApi;
let engine: Engine | undefined;

/**
 * Whether an environment configures a webhook template, so that the engine is loaded first.
 *
 * @example
 * ```ts
 * const env = Deno.env.toObject();
 * if (usesWebhookTemplate(env)) await loadTemplateEngine();
 * ```
 */
export function usesWebhookTemplate(env: Record<string, string | undefined>): boolean {
  return !!(env.WEBHOOK_TEMPLATE?.trim() || env.WEBHOOK_TEMPLATE_FILE?.trim());
}

/**
 * Import the template engine once; templates are checked and rendered synchronously after it.
 *
 * @example
 * ```ts
 * await loadTemplateEngine();
 * compileWebhookTemplate('{"text":"{{summary}}"}');
 * ```
 */
export async function loadTemplateEngine(): Promise<void> {
  engine ??= ((await import("mustache")) as unknown as { default: Engine }).default;
}

/** The content type of the generic webhook when `WEBHOOK_CONTENT_TYPE` is not set. */
export const DEFAULT_CONTENT_TYPE = "application/json";

/** A template file larger than this is refused (a template is a few hundred bytes). */
export const TEMPLATE_FILE_LIMIT = 64 * 1024;

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
 * import type { Message } from "./notify_payloads.ts";
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

/** How `{{name}}` escapes a value for a content type; `{{{name}}}` never escapes. */
function escaperFor(contentType: string): (value: unknown) => string {
  const type = contentType.split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) {
    // Inside a JSON string: "{{node}}" stays valid JSON whatever the node is called.
    return (value) => JSON.stringify(String(value)).slice(1, -1);
  }
  if (type === "application/x-www-form-urlencoded") {
    return (value) => encodeURIComponent(String(value));
  }
  return (value) => String(value);
}

function isJson(contentType: string): boolean {
  const type = contentType.split(";")[0].trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

type Token = [string, string, number, number, Token[]?, ...unknown[]];

function lookup(scopes: readonly (readonly TemplateField[])[], name: string) {
  const path = name.split(".");
  for (let i = scopes.length - 1; i >= 0; i--) {
    let fields: readonly TemplateField[] | undefined = scopes[i];
    let found: TemplateField | undefined;
    for (const part of path) {
      found = fields?.find((f) => f.name === part);
      if (!found) break;
      fields = found.fields;
    }
    if (found) return found;
  }
  return undefined;
}

/** Names the template uses that are not fields, and constructs it may not use. */
function tokenProblems(tokens: Token[], scopes: (readonly TemplateField[])[]): string[] {
  const problems: string[] = [];
  for (const token of tokens) {
    const [type, name] = token;
    if (type === ">") {
      problems.push(`partials ({{> ${name}}}) are not supported`);
      continue;
    }
    if (!["name", "&", "#", "^"].includes(type)) continue;
    if (name === ".") continue;
    const field = lookup(scopes, name);
    if (!field) {
      problems.push(`unknown field ${JSON.stringify(name)}`);
      continue;
    }
    if ((type === "#" || type === "^") && token[4]) {
      problems.push(...tokenProblems(token[4], field.fields ? [...scopes, field.fields] : scopes));
    }
  }
  return problems;
}

/** The example notice a template is tried on at start-up, start and result alike. */
function exampleMessages(): Message[] {
  const notice: Notice = {
    id: "spot-interruption:2026-11-25T10:02:00Z",
    kind: "spot-interruption",
    action: "terminate",
    noticeTime: new Date("2026-11-25T10:02:00Z"),
    deadline: new Date("2026-11-25T10:01:55Z"),
    raw: "",
  };
  const start: Message = {
    phase: "start",
    notice,
    context: {
      node: 'node "with" \\ odd\nname',
      instanceId: "i-0123456789abcdef0",
      instanceType: "m5.large",
      availabilityZone: "us-east-1a",
    },
    dryRun: false,
    plan: ["cordon", "taint", "drain", "detach-asg"],
  };
  return [start, {
    ...start,
    phase: "result",
    report: {
      drain: {
        status: "partial",
        evicted: ["default/web-0"],
        remaining: [{ pod: "default/db-0", reason: 'blocked by "budget"' }],
        failed: [],
        skipped: [],
      },
      asg: { status: "detached", group: "workers" },
    },
  }];
}

/** A template that parsed, checked out and rendered its examples. */
export interface WebhookTemplate {
  /** The request body for a message. */
  render(message: Message): string;
}

/**
 * Check a template and prepare it; a list of problems when it cannot be used, each without the
 * template's text (it may embed a routing key).
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_payloads.ts";
 * declare const message: Message;
 * const t = compileWebhookTemplate('{"text":"{{summary}}"}', DEFAULT_CONTENT_TYPE);
 * if (!("problems" in t)) t.render(message); // {"text":"Spot Termination: …"}
 * ```
 */
export function compileWebhookTemplate(
  source: string,
  contentType: string = DEFAULT_CONTENT_TYPE,
): WebhookTemplate | { problems: string[] } {
  const mustache = engine;
  if (!mustache) {
    return { problems: ["the template engine is not loaded (loadTemplateEngine); internal error"] };
  }
  let tokens: Token[];
  try {
    tokens = mustache.parse(source) as unknown as Token[];
  } catch (error) {
    return { problems: [`does not parse: ${error instanceof Error ? error.message : error}`] };
  }
  const problems = [...new Set(tokenProblems(tokens, [TEMPLATE_FIELDS]))];
  if (problems.length > 0) return { problems };
  const escape = escaperFor(contentType);
  const render = (message: Message) =>
    mustache.render(source, templateView(message), {}, { escape });
  if (isJson(contentType)) {
    for (const example of exampleMessages()) {
      try {
        JSON.parse(render(example));
      } catch (error) {
        return {
          problems: [
            `renders invalid JSON for an example ${example.phase} message (${
              error instanceof Error ? error.message : error
            }); quote string fields ("{{node}}") and use {{{payloadJson}}} for the whole document`,
          ],
        };
      }
    }
  }
  return { render };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Set by the handler from the request itself, or by WEBHOOK_CONTENT_TYPE.
const RESERVED = new Set(["content-type", "content-length", "host", "transfer-encoding"]);

/**
 * Parse `WEBHOOK_HEADERS`: a JSON object (`{"Authorization":"Bearer …"}`, as
 * aws-node-termination-handler takes it) or one `Name: value` per line. Problems never quote a
 * value.
 *
 * @example
 * ```ts
 * parseWebhookHeaders("Authorization: Bearer abc\nX-Team: ops");
 * // { headers: { Authorization: "Bearer abc", "X-Team": "ops" } }
 * ```
 */
export function parseWebhookHeaders(
  text: string,
): { headers: Record<string, string> } | { problems: string[] } {
  let pairs: [string, unknown][];
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
      pairs = Object.entries(parsed);
    } catch {
      return { problems: ["not a JSON object of header names and values"] };
    }
  } else {
    pairs = [];
    const lines = trimmed.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
    for (const [i, line] of lines.entries()) {
      const colon = line.indexOf(":");
      if (colon <= 0) return { problems: [`line ${i + 1} is not "Name: value"`] };
      pairs.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  const problems: string[] = [];
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    if (!TOKEN.test(name)) problems.push(`${JSON.stringify(name)} is not a header name`);
    else if (RESERVED.has(name.toLowerCase())) {
      problems.push(
        `${name} is set by the handler${
          name.toLowerCase() === "content-type" ? " (use WEBHOOK_CONTENT_TYPE)" : ""
        }`,
      );
    } else if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
      problems.push(`the value of ${name} must be text on one line`);
    } else headers[name] = value;
  }
  if (problems.length === 0 && pairs.length === 0) problems.push("no header");
  return problems.length ? { problems } : { headers };
}

/**
 * Problems of the generic webhook's optional settings, one line each, naming the variable:
 * `WEBHOOK_CONTENT_TYPE`, `WEBHOOK_HEADERS`, `WEBHOOK_TEMPLATE` (the text of
 * `WEBHOOK_TEMPLATE_FILE` once config has read it).
 *
 * @example
 * ```ts
 * webhookProblems({ WEBHOOK_URL: "https://x", WEBHOOK_TEMPLATE: "{{#a}}" });
 * // ['WEBHOOK_TEMPLATE: does not parse: Unclosed section "a" at 6']
 * ```
 */
export function webhookProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  const contentType = env.WEBHOOK_CONTENT_TYPE ?? DEFAULT_CONTENT_TYPE;
  const typeOk = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;.*)?$/.test(
    contentType,
  );
  if (!typeOk) {
    problems.push(`WEBHOOK_CONTENT_TYPE: ${JSON.stringify(contentType)} is not a media type`);
  }
  if (env.WEBHOOK_HEADERS !== undefined) {
    const parsed = parseWebhookHeaders(env.WEBHOOK_HEADERS);
    if ("problems" in parsed) problems.push(...parsed.problems.map((p) => `WEBHOOK_HEADERS: ${p}`));
  }
  if (env.WEBHOOK_TEMPLATE !== undefined && typeOk) {
    const template = compileWebhookTemplate(env.WEBHOOK_TEMPLATE, contentType);
    const from = env.WEBHOOK_TEMPLATE_FILE
      ? `WEBHOOK_TEMPLATE_FILE ${env.WEBHOOK_TEMPLATE_FILE}`
      : "WEBHOOK_TEMPLATE";
    if ("problems" in template) problems.push(...template.problems.map((p) => `${from}: ${p}`));
  } else if (env.WEBHOOK_TEMPLATE === undefined && typeOk) {
    if (!isJson(contentType)) {
      problems.push("WEBHOOK_CONTENT_TYPE: the built-in body is JSON; set WEBHOOK_TEMPLATE too");
    }
  }
  return problems;
}

/**
 * Read `WEBHOOK_TEMPLATE_FILE` at start-up: its text, or the one-line problem (missing, not
 * permitted, too large, not UTF-8, or set together with `WEBHOOK_TEMPLATE`).
 *
 * @example
 * ```ts
 * loadTemplateFile("/etc/spot-termination-handler/webhook.json", undefined, Deno.readFileSync);
 * ```
 */
export function loadTemplateFile(
  path: string,
  inline: string | undefined,
  readFile: (path: string) => Uint8Array,
): { text: string } | { problem: string } {
  const fail = (why: string) => ({ problem: `WEBHOOK_TEMPLATE_FILE: ${why}` });
  if (inline !== undefined) return fail("set either it or WEBHOOK_TEMPLATE, not both");
  let bytes: Uint8Array;
  try {
    bytes = readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return fail(`${path} does not exist`);
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return fail(
        `cannot read ${path}: the handler may read files only under ${CONFIG_DIR}/`,
      );
    }
    return fail(`cannot read ${path}: ${error instanceof Error ? error.message : error}`);
  }
  if (bytes.length > TEMPLATE_FILE_LIMIT) {
    return fail(`${path} is over ${TEMPLATE_FILE_LIMIT} bytes`);
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return fail(`${path} is not UTF-8 text`);
  }
}

const compiled = new Map<string, WebhookTemplate>();

/**
 * The parts of the generic webhook's request that its settings decide: content type, body and
 * extra headers. `defaultBody` builds the built-in JSON document when there is no template.
 * Settings are checked at start-up ({@linkcode webhookProblems}); an invalid one here throws.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_payloads.ts";
 * declare const message: Message;
 * webhookDelivery(message, { WEBHOOK_HEADERS: "Authorization: Bearer t" }, () => "{}");
 * // { contentType: "application/json", body: "{}", headers: { Authorization: "Bearer t" } }
 * ```
 */
export function webhookDelivery(
  message: Message,
  env: Record<string, string | undefined>,
  defaultBody: () => string,
): { contentType: string; body: string; headers?: Record<string, string> } {
  const contentType = env.WEBHOOK_CONTENT_TYPE ?? DEFAULT_CONTENT_TYPE;
  let body: string;
  if (env.WEBHOOK_TEMPLATE === undefined) {
    body = defaultBody();
  } else {
    const key = `${contentType}\n${env.WEBHOOK_TEMPLATE}`;
    let template = compiled.get(key);
    if (!template) {
      const result = compileWebhookTemplate(env.WEBHOOK_TEMPLATE, contentType);
      if ("problems" in result) throw new TypeError(`WEBHOOK_TEMPLATE: ${result.problems[0]}`);
      template = result;
      compiled.set(key, template);
    }
    body = template.render(message);
  }
  if (env.WEBHOOK_HEADERS === undefined) return { contentType, body };
  const parsed = parseWebhookHeaders(env.WEBHOOK_HEADERS);
  if ("problems" in parsed) throw new TypeError(`WEBHOOK_HEADERS: ${parsed.problems[0]}`);
  return { contentType, body, headers: parsed.headers };
}
