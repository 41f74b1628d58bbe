/**
 * The legacy spot notice, `meta-data/spot/termination-time` (a plain RFC 3339 time), or the old
 * script's `NOTICE_URL` in its place: asked every poll interval like instance-action. It cannot
 * tell stop or hibernate from terminate, so for the same notice id instance-action's answer is
 * the one dispatched.
 *
 * @module
 */

import { parseRfc3339, SPOT_HORIZON_MS, withinHorizon } from "./_source_parse.ts";
import type { Notice } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";
import { INSTANCE_ACTION, spotNotice } from "./source_instance_action.ts";

const PATH = "meta-data/spot/termination-time";

/**
 * Parse `meta-data/spot/termination-time` (a plain RFC 3339 time). The id equals the one
 * `parseInstanceAction` gives for the same time, so both sources dedupe to one notice.
 *
 * @example
 * ```ts
 * parseTerminationTime("2026-11-25T10:02:00Z", new Date()).action; // "terminate"
 * ```
 */
export function parseTerminationTime(body: string, now: Date, marginMs?: number): Notice {
  const time = withinHorizon(parseRfc3339(body.trim(), PATH), now, SPOT_HORIZON_MS, PATH);
  return spotNotice(time, "terminate", body, now, marginMs);
}

/** The termination-time source: every poll interval, deferring to instance-action. */
export const TERMINATION_TIME: NoticeSource = {
  path: PATH,
  parse: (body, now, marginMs) => [parseTerminationTime(body, now, marginMs)],
  defersTo: INSTANCE_ACTION,
  replacedByNoticeUrl: true,
};
