/**
 * The generic webhook's optional settings (`WEBHOOK_CONTENT_TYPE`, `WEBHOOK_HEADERS`,
 * `WEBHOOK_TEMPLATE`): their start-up problems, and the parts of the request they decide.
 *
 * @module
 */

import type { Message } from "./notify_message.ts";
import {
  compileWebhookTemplate,
  DEFAULT_CONTENT_TYPE,
  isJson,
  type WebhookTemplate,
} from "./webhook_template.ts";
import { parseWebhookHeaders } from "./webhook_headers.ts";

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

const compiled = new Map<string, WebhookTemplate>();

/**
 * The parts of the generic webhook's request that its settings decide: content type, body and
 * extra headers. `defaultBody` builds the built-in JSON document when there is no template.
 * Settings are checked at start-up ({@linkcode webhookProblems}); an invalid one here throws.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
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
