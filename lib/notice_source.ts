/**
 * What a notice source is: one IMDS path that can announce {@linkcode Notice}s, how often it is
 * asked, and how its answer is read. Each source lives in its own `lib/source_<name>.ts`; the
 * table in `lib/sources.ts` lists them, and the monitor polls every row on its own schedule with
 * its own backoff.
 *
 * @module
 */

import type { FinishedEvent } from "./maintenance.ts";
import type { Notice } from "./notice.ts";

/** One IMDS notice source; see the module doc. */
export interface NoticeSource {
  /** The IMDS path, relative to `/latest/`, e.g. `meta-data/spot/instance-action`. */
  path: string;
  /**
   * Pause between polls while the source answers; the monitor's poll interval when absent or
   * when that is longer (an operator who slows `POLL_INTERVAL` down slows every source with it).
   */
  everyMs?: number;
  /**
   * Read a 200 answer into the notices it announces (none is fine). What cannot be read throws
   * a SyntaxError, TypeError or RangeError whose message starts with the path; the monitor
   * counts it as `kind=malformed` and asks again on schedule.
   */
  parse(body: string, now: Date, marginMs?: number): Notice[];
  /**
   * A source whose answer of the same moment wins when both report one notice id (it knows
   * more about it); must be in the same table.
   */
  defersTo?: NoticeSource;
  /** The old script's `NOTICE_URL`, when set, is polled instead of this path. */
  replacedByNoticeUrl?: boolean;
  /** The events a readable answer lists as over, for the monitor's `onFinishedEvents`. */
  finished?(body: string): FinishedEvent[];
}
