/**
 * The generic webhook's `WEBHOOK_HEADERS`: extra request headers, checked at start-up.
 *
 * @module
 */

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
