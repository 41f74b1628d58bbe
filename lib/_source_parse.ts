/**
 * What the notice sources share when they read an IMDS body: JSON that must be an object, RFC 3339
 * and "21 Jan 2019 09:00:43 GMT" times, the horizon beyond which a time is no plausible notice,
 * and a short quote of what was refused. Every error names the path (and the field) it is about.
 * Errors are SyntaxError, TypeError or RangeError, which the monitor counts as `kind=malformed`.
 *
 * @module
 */

/**
 * How far ahead a spot (instance-action, termination-time) or rebalance time may lie. AWS sends
 * spot notices two minutes ahead (hibernation: at once) and stamps a rebalance recommendation
 * with the time it was issued; ten minutes leaves room for a skewed node clock, and anything
 * later (9999-12-31, a year off) is a broken or hostile answer, not a deadline.
 */
export const SPOT_HORIZON_MS = 10 * 60_000;

const EVENT_TIME =
  /^(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC)$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A value as it may appear in an error: JSON-quoted, at most 80 characters.
 *
 * @example
 * ```ts
 * quote("tomorrow"); // '"tomorrow"'
 * ```
 */
export function quote(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 80 ? text.slice(0, 80) + "…" : text);
}

/**
 * An RFC 3339 time, or an error naming `where`.
 *
 * @example
 * ```ts
 * parseRfc3339("2026-11-25T10:02:00Z", "meta-data/spot/termination-time");
 * ```
 */
export function parseRfc3339(value: unknown, where: string): Date {
  if (typeof value !== "string") throw new TypeError(`${where}: expected an RFC 3339 time string`);
  const time = RFC3339.test(value) ? new Date(value) : undefined;
  if (!time || isNaN(time.getTime())) {
    throw new SyntaxError(`${where}: not an RFC 3339 time: ${quote(value)}`);
  }
  return time;
}

/**
 * A scheduled event's time (`21 Jan 2019 09:00:43 GMT`; RFC 3339 accepted too), or an error
 * naming `where`.
 *
 * @example
 * ```ts
 * parseEventTime("21 Jan 2019 09:00:43 GMT", "NotBefore"); // 2019-01-21T09:00:43Z
 * ```
 */
export function parseEventTime(value: unknown, where: string): Date {
  if (typeof value !== "string") throw new TypeError(`${where}: expected a time string`);
  const m = EVENT_TIME.exec(value.trim());
  if (!m) {
    // Be lenient if AWS ever switches these to RFC 3339 like the other endpoints.
    if (RFC3339.test(value.trim())) return parseRfc3339(value.trim(), where);
    throw new SyntaxError(`${where}: not a time like "21 Jan 2019 09:00:43 GMT": ${quote(value)}`);
  }
  const [day, month, year, h, min, s] = [
    Number(m[1]),
    MONTHS.indexOf(m[2]),
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  ];
  const time = new Date(Date.UTC(year, month, day, h, min, s));
  // Date.UTC rolls 31 Feb over into March; a real IMDS never says that, garbage might.
  if (time.getUTCDate() !== day || h > 23 || min > 59 || s > 59) {
    throw new SyntaxError(`${where}: no such time: ${quote(value)}`);
  }
  return time;
}

/**
 * Refuses a time further ahead than `horizonMs` (RangeError): a deadline must be one AWS could
 * mean.
 *
 * @example
 * ```ts
 * const now = new Date();
 * withinHorizon(now, now, SPOT_HORIZON_MS, "meta-data/spot/termination-time"); // now
 * ```
 */
export function withinHorizon(time: Date, now: Date, horizonMs: number, where: string): Date {
  if (time.getTime() - now.getTime() > horizonMs) {
    const limit = horizonMs >= 86_400_000
      ? `${horizonMs / 86_400_000} days`
      : `${horizonMs / 60_000} minutes`;
    throw new RangeError(
      `${where}: ${time.toISOString()} is more than ${limit} ahead; not a plausible notice time`,
    );
  }
  return time;
}

/**
 * `2026-11-25T10:02:00Z`: ISO without zero milliseconds, so ids read like the IMDS value.
 *
 * @example
 * ```ts
 * idTime(new Date("2026-11-25T10:02:00.000Z")); // "2026-11-25T10:02:00Z"
 * ```
 */
export function idTime(time: Date): string {
  return time.toISOString().replace(/\.000Z$/, "Z");
}

/**
 * `body` as JSON, or a SyntaxError naming `path` and quoting the body.
 *
 * @example
 * ```ts
 * parseJson("[]", "meta-data/events/maintenance/scheduled"); // []
 * ```
 */
export function parseJson(body: string, path: string): unknown {
  try {
    return JSON.parse(body);
  } catch (err) {
    throw new SyntaxError(
      `${path}: malformed JSON (${err instanceof Error ? err.message : err}): ${quote(body)}`,
    );
  }
}

/**
 * `body` as a JSON object (not an array, not null), or an error naming `path`.
 *
 * @example
 * ```ts
 * parseJsonObject('{"noticeTime":"2026-11-25T10:00:00Z"}', "rebalance").noticeTime;
 * ```
 */
export function parseJsonObject(body: string, path: string): Record<string, unknown> {
  const value = parseJson(body, path);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path}: expected a JSON object, got ${quote(body.trim())}`);
  }
  return value as Record<string, unknown>;
}
