/**
 * Secret scrubbing for text from below the notifier (fetch, SMTP, a payload builder): every URL,
 * and every secret notifier value or piece of one, is replaced before the text reaches a log
 * line, an error or an outcome.
 *
 * @module
 */

import { NOTIFIER_VARIABLES } from "./notify_targets.ts";

/**
 * Secret values, and pieces of secret URLs, as they may appear in a library's error text; the
 * list {@linkcode scrub} removes. `values` are the set notifier variables.
 *
 * @example
 * ```ts
 * import { scrub, secretFragments } from "./scrub.ts";
 *
 * const fragments = secretFragments({ SLACK_URL: "https://hooks.slack.com/services/T0/B0/secret" });
 * scrub("POST /services/T0/B0/secret failed", fragments); // "POST [redacted] failed"
 * ```
 */
export function secretFragments(values: Record<string, string>): string[] {
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
 *
 * @example
 * ```ts
 * import { scrub } from "./scrub.ts";
 *
 * scrub("connect to https://user:pw@mail.example.com failed", []);
 * // "connect to [redacted URL] failed"
 * ```
 */
export function scrub(text: string, fragments: string[]): string {
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s()"'<>]*/gi, "[redacted URL]");
  for (const fragment of fragments) out = out.split(fragment).join("[redacted]");
  return out;
}
