/**
 * The notice sources the monitor polls, one row each. Adding a source is one file
 * (`lib/source_<name>.ts`, exporting a {@linkcode NoticeSource}: path, interval, parser) and one
 * row here; the monitor needs no change.
 *
 * @module
 */

import type { NoticeSource } from "./notice_source.ts";
import { INSTANCE_ACTION } from "./source_instance_action.ts";
import { LIFECYCLE_STATE } from "./source_lifecycle_state.ts";
import { REBALANCE } from "./source_rebalance.ts";
import { SCHEDULED_EVENTS } from "./source_scheduled_events.ts";
import { TERMINATION_TIME } from "./source_termination_time.ts";

/** Every notice source by name, in the order a round asks them. */
export const NOTICE_SOURCES = {
  instanceAction: INSTANCE_ACTION,
  terminationTime: TERMINATION_TIME,
  rebalance: REBALANCE,
  scheduledEvents: SCHEDULED_EVENTS,
  lifecycleState: LIFECYCLE_STATE,
} as const satisfies Readonly<Record<string, NoticeSource>>;

/**
 * The IMDS path of each source, relative to `/latest/`.
 *
 * @example
 * ```ts
 * NOTICE_PATHS.instanceAction; // "meta-data/spot/instance-action"
 * ```
 */
export const NOTICE_PATHS = Object.freeze(
  Object.fromEntries(Object.entries(NOTICE_SOURCES).map(([name, s]) => [name, s.path])),
) as { readonly [name in keyof typeof NOTICE_SOURCES]: string };
