/**
 * The value parsers behind lib/config.ts: each takes the variable's name and raw value, returns
 * the typed value, or pushes one `VAR: ...` problem onto `errors` and returns undefined, so every
 * problem of a manifest is reported at once. Messages quote values as JSON strings (URLs with
 * their user-info redacted), never raw; {@linkcode oneLine} keeps each problem on one line.
 *
 * @module
 */

import { redactUrl } from "./redact.ts";

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, any case; unset is false. */
export function parseBool(name: string, value: string | undefined, errors: string[]): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  errors.push(`${name}: expected true or false, got ${JSON.stringify(value)}`);
  return false;
}

/**
 * A plain decimal (or with `integer`, a whole number) between `min` and `max`.
 *
 * @example
 * ```ts
 * const errors: string[] = [];
 * parseNumber("POLL_INTERVAL", "0x10", { min: 0.1, max: 300 }, errors); // undefined, one error
 * ```
 */
export function parseNumber(
  name: string,
  value: string,
  options: { min: number; max: number; integer?: boolean },
  errors: string[],
): number | undefined {
  // Plain decimal only: Number() also takes 0x10, 0b1, 1e3, "9092." and " ", which an operator
  // never means as seconds or a port.
  const text = value.trim();
  const kind = options.integer ? "a whole number" : "a decimal number";
  const pattern = options.integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  const n = Number(text);
  if (!pattern.test(text) || !Number.isFinite(n)) {
    errors.push(`${name}: expected ${kind} (digits only), got ${JSON.stringify(value)}`);
    return undefined;
  }
  if (n < options.min || n > options.max) {
    errors.push(`${name}: must be between ${options.min} and ${options.max}, got ${value}`);
    return undefined;
  }
  return n;
}
/**
 * An http(s) URL. `base` URLs get paths appended (`/latest/meta-data/...`), so a query string or
 * fragment would end up in the middle of every request's URL: refused. A full URL polled as is
 * may keep its query, but a fragment is never sent, so it is a mistake either way. Errors show
 * the value with its user-info redacted.
 */
export function parseUrl(
  name: string,
  value: string,
  errors: string[],
  kind: "base" | "full" = "base",
): string | undefined {
  const text = value.trim();
  const shown = JSON.stringify(redactUrl(text));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    errors.push(`${name}: expected an http(s) URL, got ${shown}`);
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    errors.push(`${name}: expected an http(s) URL, got ${shown}`);
    return undefined;
  }
  if (/[\s\p{Cc}]/u.test(text)) {
    errors.push(`${name}: must not contain spaces or control characters`);
    return undefined;
  }
  if (text.includes("#")) {
    errors.push(`${name}: must not have a #fragment, got ${shown}`);
    return undefined;
  }
  if (kind === "base" && text.includes("?")) {
    errors.push(
      `${name}: must not have a ?query (paths are appended to it), got ${shown}`,
    );
    return undefined;
  }
  return kind === "base" ? text.replace(/\/+$/, "") : text;
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const MAX_LEAD_MS = 7 * 86_400_000;

/** `90s`, `10m`, `1h30m`, `0`: a duration in milliseconds, up to a week. */
export function parseDuration(name: string, value: string, errors: string[]): number | undefined {
  const v = value.trim().toLowerCase();
  const m = DURATION.exec(v);
  if (v === "0") return 0;
  if (!m || v === "") {
    errors.push(
      `${name}: expected a duration like 90s, 10m or 1h30m, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  const ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  if (ms > MAX_LEAD_MS) {
    errors.push(`${name}: at most 7 days (168h), got ${JSON.stringify(value)}`);
    return undefined;
  }
  return ms;
}

// RFC 1123 subdomain (what Kubernetes requires of node and pod names) and label (namespaces).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name, trimmed; the error never echoes control characters raw. */
export function parseName(
  name: string,
  value: string,
  kind: "subdomain" | "label",
  errors: string[],
): string | undefined {
  const text = value.trim();
  const ok = kind === "label"
    ? DNS_LABEL.test(text)
    : text.length <= 253 && DNS_SUBDOMAIN.test(text) &&
      text.split(".").every((part) => part.length <= 63);
  if (ok) return text;
  const rule = kind === "label"
    ? "a DNS label: lowercase letters, digits and '-', at most 63"
    : "a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253";
  errors.push(`${name}: expected ${rule}, got ${JSON.stringify(value)}`);
  return undefined;
}

/** An IP address literal to bind: no host names, which could resolve to anything. */
export function parseAddress(name: string, value: string, errors: string[]): string | undefined {
  const text = value.trim();
  const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  if (v4.test(text)) return text;
  if (/^[0-9a-fA-F:.]+$/.test(text) && text.includes(":")) {
    try {
      new URL(`http://[${text}]/`);
      return text;
    } catch {
      // Not an IPv6 literal either.
    }
  }
  errors.push(
    `${name}: expected an IP address such as 127.0.0.1, the pod IP or ::1, got ${
      JSON.stringify(value)
    }`,
  );
  return undefined;
}

/** One of `choices`, case-insensitive, returned in lower case. */
export function parseChoice<T extends string>(
  name: string,
  value: string,
  choices: readonly T[],
  errors: string[],
): T | undefined {
  const v = value.trim().toLowerCase() as T;
  if (choices.includes(v)) return v;
  errors.push(`${name}: expected one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return undefined;
}

/**
 * `text` with control characters as `\n`-style escapes, so a message stays one line.
 *
 * @example
 * ```ts
 * oneLine("a\nb"); // "a\\nb"
 * ```
 */
export function oneLine(text: string): string {
  return text.replace(
    /[\p{Cc}\u2028\u2029]/gu,
    (c) =>
      c === "\n"
        ? "\\n"
        : c === "\r"
        ? "\\r"
        : c === "\t"
        ? "\\t"
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
