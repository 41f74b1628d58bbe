/**
 * The rebalance recommendation, `meta-data/events/recommendations/rebalance`
 * (`{"noticeTime":"…"}`).
 *
 * @module
 */

import { parseJsonObject, parseRfc3339, SPOT_HORIZON_MS, withinHorizon } from "./_source_parse.ts";
import { computeDeadline, type Notice } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";

const PATH = "meta-data/events/recommendations/rebalance";

/**
 * Parse `meta-data/events/recommendations/rebalance` (`{"noticeTime":"…"}`). The notice time
 * is when AWS issued the recommendation, so the deadline is now + 120 s minus the margin.
 *
 * @example
 * ```ts
 * parseRebalance('{"noticeTime":"2026-11-25T10:00:00Z"}', new Date()).id;
 * // "rebalance-recommendation"
 * ```
 */
export function parseRebalance(body: string, now: Date, marginMs?: number): Notice {
  const value = parseJsonObject(body, PATH);
  const where = `${PATH} "noticeTime"`;
  const time = withinHorizon(parseRfc3339(value.noticeTime, where), now, SPOT_HORIZON_MS, where);
  return {
    // An instance gets one rebalance recommendation in its life. Some mocks (AEMM by default)
    // stamp each answer with the request time; keying the id on it would re-notify every poll.
    id: "rebalance-recommendation",
    kind: "rebalance-recommendation",
    noticeTime: time,
    deadline: computeDeadline(time, now, marginMs),
    action: "rebalance",
    raw: body,
  };
}

/**
 * The rebalance source, every 5 s: the recommendation comes minutes before an interruption when
 * AWS can send it early, and together with the two-minute notice otherwise (then the spot paths
 * see that one within a poll interval). 5 s of minutes is small, and it lets a drain or a
 * warm-up start with nearly all of the early warning left.
 */
export const REBALANCE: NoticeSource = {
  path: PATH,
  everyMs: 5_000,
  parse: (body, now, marginMs) => [parseRebalance(body, now, marginMs)],
};
