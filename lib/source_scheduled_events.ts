/**
 * Scheduled maintenance, `meta-data/events/maintenance/scheduled`: a JSON array of events, one
 * notice per event still to come.
 *
 * @module
 */

import { parseEventTime, parseJson, quote, withinHorizon } from "./_source_parse.ts";
import { finishedEvents } from "./maintenance.ts";
import { computeDeadline, type Notice } from "./notice.ts";
import type { NoticeSource } from "./notice_source.ts";

const PATH = "meta-data/events/maintenance/scheduled";

/**
 * How far ahead a scheduled event's `NotBefore` may lie: AWS announces maintenance, stops and
 * retirements about two weeks ahead, and an event can be rescheduled up to its
 * `NotBeforeDeadline`, some weeks later again. 60 days covers both with room; beyond that the
 * date is treated as malformed rather than as a deadline months or millennia away.
 */
export const MAINTENANCE_HORIZON_MS = 60 * 86_400_000;

const FINISHED_STATES = new Set(["completed", "canceled", "cancelled"]);

/** One event of the array as a notice, or null when it is over; errors name `where`. */
function eventNotice(event: unknown, where: string, now: Date, marginMs?: number): Notice | null {
  if (event === null || typeof event !== "object" || Array.isArray(event)) {
    throw new TypeError(`${where}: expected an object, got ${quote(event)}`);
  }
  const e = event as Record<string, unknown>;
  for (const field of ["Code", "EventId", "State"]) {
    if (typeof e[field] !== "string" || e[field] === "") {
      throw new TypeError(`${where}: "${field}" must be a non-empty string`);
    }
  }
  if (FINISHED_STATES.has((e.State as string).toLowerCase())) return null;
  const field = `${where} "NotBefore"`;
  const notBefore = withinHorizon(
    parseEventTime(e.NotBefore, field),
    now,
    MAINTENANCE_HORIZON_MS,
    field,
  );
  // Only shown in messages: an unreadable NotAfter must not hide the event itself.
  let notAfter: Date | undefined;
  try {
    if (e.NotAfter !== undefined) notAfter = parseEventTime(e.NotAfter, where);
  } catch { /* left out */ }
  return {
    id: `scheduled-maintenance:${e.EventId}`,
    kind: "scheduled-maintenance",
    noticeTime: notBefore,
    deadline: computeDeadline(notBefore, now, marginMs),
    ...(notAfter ? { notAfter } : {}),
    action: e.Code as string,
    raw: JSON.stringify(event),
    // The customer may move the event (ModifyInstanceEventStartTime): same EventId, new time.
    revision: notBefore.toISOString(),
  };
}

/**
 * Parse `meta-data/events/maintenance/scheduled`: one notice per event that is not Completed or
 * Canceled, keyed by its `EventId`, due at its `NotBefore`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify([{
 *   Code: "system-reboot", Description: "scheduled reboot", State: "active",
 *   EventId: "instance-event-0d59937288b749b32", NotBefore: "21 Jan 2019 09:00:43 GMT",
 * }]);
 * parseScheduledEvents(body, new Date())[0].id; // "scheduled-maintenance:instance-event-0d59937288b749b32"
 * ```
 */
export function parseScheduledEvents(body: string, now: Date, marginMs?: number): Notice[] {
  if (body.trim() === "") return [];
  const value = parseJson(body, PATH);
  if (!Array.isArray(value)) {
    throw new TypeError(`${PATH}: expected a JSON array, got ${quote(body.trim())}`);
  }
  const notices: Notice[] = [];
  value.forEach((event: unknown, i) => {
    const notice = eventNotice(event, `${PATH}[${i}]`, now, marginMs);
    if (notice) notices.push(notice);
  });
  return notices;
}

/**
 * The scheduled-events source, every 60 s: AWS schedules maintenance days to weeks ahead and
 * announces it by e-mail and AWS Health first; a minute of that is nothing. Its completed and
 * canceled events go to the monitor's `onFinishedEvents` (the node's return).
 */
export const SCHEDULED_EVENTS: NoticeSource = {
  path: PATH,
  everyMs: 60_000,
  parse: parseScheduledEvents,
  finished: finishedEvents,
};
