/**
 * A maintenance event seen before its action time: the start message (with the time the cordon
 * and drain begin) and the annotation `announced` once, then a timer that hands the event back to
 * the handler when it is due. A restart finds the annotation and only sets the timer again. An
 * event the customer rescheduled (same EventId, new NotBefore) gets its timer moved and the start
 * message again with the new time, since the one sent before now names the wrong hour.
 *
 * @module
 */

import type { HandlerContext } from "./handler_context.ts";
import type { MessageBase } from "./handler_messages.ts";
import { type KnownNode, markAnnounced } from "./handler_node.ts";
import { actionTime } from "./maintenance.ts";
import type { Notice } from "./notice.ts";

/** What {@linkcode announce} works from. */
export interface AnnounceJob {
  notice: Notice;
  known: KnownNode;
  base: MessageBase;
  /** Announced before, in this process or (the annotation says) before a restart. */
  wasAnnounced: boolean;
}

/** Announce the event once and set its timer; `whenDue` handles it at its action time. */
export async function announce(
  ctx: HandlerContext,
  { notice, known, base, wasAnnounced }: AnnounceJob,
  whenDue: (notice: Notice) => void,
): Promise<undefined> {
  const at = actionTime(notice, ctx.leadMs);
  const before = announcedTime(ctx, notice, known);
  const moved = before !== undefined && before.getTime() !== notice.noticeTime.getTime();
  if (moved) {
    ctx.logger.info("maintenance rescheduled", {
      node: known.node,
      id: notice.id,
      from: actionTime({ ...notice, noticeTime: before }, ctx.leadMs).toISOString(),
      to: at.toISOString(),
    });
  }
  if (!wasAnnounced || moved) {
    await ctx.send({ phase: "start", ...base, actionAt: at });
    if (!ctx.options.dryRun) await markAnnounced(ctx, notice, known);
  }
  ctx.announced.add(notice.id);
  // The timer is the clock's word that the time has come: no second look at a clock that may
  // lag a millisecond behind it.
  ctx.scheduler.at(notice, at, () => whenDue(notice));
  ctx.logger.info("maintenance announced; cordon and drain begin at its action time", {
    node: known.node,
    id: notice.id,
    code: notice.action,
    notBefore: notice.noticeTime.toISOString(),
    actionAt: at.toISOString(),
    again: wasAnnounced || undefined,
  });
  return undefined;
}

/** The NotBefore announced before: this process's timer, or the node's record after a restart. */
function announcedTime(ctx: HandlerContext, notice: Notice, known: KnownNode): Date | undefined {
  const pending = ctx.scheduler.pending(notice.id);
  if (pending) return pending.noticeTime;
  const previous = known.view.previous;
  if (previous?.id !== notice.id || previous.phase !== "announced" || !previous.noticeTime) {
    return undefined;
  }
  const time = new Date(previous.noticeTime);
  return isNaN(time.getTime()) ? undefined : time;
}
