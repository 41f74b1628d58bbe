/**
 * The spot interruption notice, `meta-data/spot/instance-action`
 * (`{"action":"terminate","time":"…"}`): asked every poll interval, since it comes only two
 * minutes ahead (hibernation: at once).
 *
 * @module
 */

import {
  idTime,
  parseJsonObject,
  parseRfc3339,
  quote,
  SPOT_HORIZON_MS,
  withinHorizon,
} from "./_source_parse.ts";
import { computeDeadline, type Notice } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";

const PATH = "meta-data/spot/instance-action";

/**
 * A spot interruption at `time`. Its id depends on the instant only, so the two spot paths
 * report one notice.
 *
 * @example
 * ```ts
 * const at = new Date("2026-11-25T10:02:00Z");
 * spotNotice(at, "terminate", "", new Date()).id; // "spot-interruption:2026-11-25T10:02:00Z"
 * ```
 */
export function spotNotice(
  time: Date,
  action: string,
  raw: string,
  now: Date,
  marginMs?: number,
): Notice {
  return {
    id: `spot-interruption:${idTime(time)}`,
    kind: "spot-interruption",
    noticeTime: time,
    deadline: computeDeadline(time, now, marginMs),
    action,
    raw,
  };
}

/**
 * Parse `meta-data/spot/instance-action` (`{"action":"terminate","time":"…"}`).
 *
 * @example
 * ```ts
 * const n = parseInstanceAction('{"action":"stop","time":"2026-11-25T10:02:00Z"}', new Date());
 * n.id; // "spot-interruption:2026-11-25T10:02:00Z"
 * ```
 */
export function parseInstanceAction(body: string, now: Date, marginMs?: number): Notice {
  const value = parseJsonObject(body, PATH);
  if (typeof value.action !== "string" || value.action.trim() === "") {
    throw new TypeError(`${PATH}: "action" must be a non-empty string, got ${quote(body)}`);
  }
  const where = `${PATH} "time"`;
  const time = withinHorizon(parseRfc3339(value.time, where), now, SPOT_HORIZON_MS, where);
  return spotNotice(time, value.action.trim(), body, now, marginMs);
}

/** The instance-action source: every poll interval. */
export const INSTANCE_ACTION: NoticeSource = {
  path: PATH,
  parse: (body, now, marginMs) => [parseInstanceAction(body, now, marginMs)],
};
