/**
 * The generic webhook's optional template, so one webhook can speak PagerDuty Events v2, Opsgenie,
 * Chime or an authenticated relay: `WEBHOOK_TEMPLATE` (or `WEBHOOK_TEMPLATE_FILE`) is a Mustache
 * template rendered from the fields in lib/webhook_fields.ts, `WEBHOOK_CONTENT_TYPE` says what it
 * renders (lib/webhook_settings.ts checks the settings together, lib/webhook_headers.ts the
 * request headers).
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
import type { Message } from "./notify_message.ts";
import { TEMPLATE_FIELDS, type TemplateField, templateView } from "./webhook_fields.ts";

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

/** Whether a content type is JSON, so a rendered template must parse as JSON. */
export function isJson(contentType: string): boolean {
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
 * import type { Message } from "./notify_message.ts";
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
