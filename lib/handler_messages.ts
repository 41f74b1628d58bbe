/**
 * What the handler tells: the messages it sends (start, result) and the one log line that sums up
 * a handled notice. The result follows the tagged outcome (report.ts), so it never claims a drain
 * that was not attempted.
 *
 * @module
 */

import type { Identity } from "./imds.ts";
import type { Logger } from "./log.ts";
import type { Notice } from "./notice.ts";
import type { Message, NotifyContext } from "./notify_message.ts";
import type { Notifier } from "./notify.ts";
import type { Step } from "./policy.ts";
import type { AsgResult, CordonReport, DrainReport, HandlingReport } from "./report.ts";

/** What every message about one notice carries; the start and result messages add their phase. */
export type MessageBase = Omit<Extract<Message, { phase: "start" }>, "phase">;

/** What the Kubernetes branch reports: the node it acted on, and its cordon and drain. */
export interface KubeOutcome {
  node: string;
  cordon?: CordonReport;
  drain?: DrainReport;
}

/**
 * Send one message to every target; one `warn` names the targets it did not reach. Never
 * rejects: a message is never a reason to stop handling a notice.
 *
 * @example
 * ```ts
 * import { sendMessage } from "./handler_messages.ts";
 * declare const notifier: import("./notify.ts").Notifier;
 * declare const logger: import("./log.ts").Logger;
 * declare const message: import("./notify_message.ts").Message;
 * await sendMessage(notifier, logger, message);
 * ```
 */
export async function sendMessage(notifier: Notifier, logger: Logger, msg: Message): Promise<void> {
  if (notifier.targets.length === 0) return;
  const outcomes = await notifier.send(msg);
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.target);
  if (failed.length > 0) {
    logger.warn(`${msg.phase} message not delivered to every target`, { failed });
  }
}

/** The base of every message about a notice: where it happened and what the plan is. */
export function messageBase(
  notice: Notice,
  plan: Step[],
  where: { cluster?: string; node: string; dryRun: boolean },
  id: Identity,
): MessageBase {
  const context: NotifyContext = {
    cluster: where.cluster,
    node: where.node,
    instanceId: id.instanceId,
    instanceType: id.instanceType,
    availabilityZone: id.availabilityZone,
    region: id.region,
  };
  return { notice, context, dryRun: where.dryRun, plan };
}

/** The report of a handled notice: only the parts that ran. */
export function handlingReport(k: KubeOutcome, asg: AsgResult | undefined): HandlingReport {
  const report: HandlingReport = {};
  if (k.cordon) report.cordon = k.cordon;
  if (k.drain) report.drain = k.drain;
  if (asg) report.asg = asg;
  return report;
}

/** Whether the node annotation ends `failed`: the drain did not run or the cordon failed. */
export function handlingFailed(report: HandlingReport): boolean {
  return report.drain?.status === "not-run" || report.cordon?.status === "failed";
}

/** The one line that sums up a handled notice: `error` when the drain did not run. */
export function logOutcome(
  logger: Logger,
  notice: Notice,
  node: string,
  report: HandlingReport,
): void {
  const d = report.drain;
  const fields = {
    node,
    kind: notice.kind,
    drain: d?.status,
    evicted: d && "evicted" in d ? d.evicted.length : undefined,
    remaining: d && "remaining" in d ? d.remaining.length : undefined,
    failed: d && "failed" in d ? d.failed.length : undefined,
    reason: d?.status === "not-run" ? d.reason : undefined,
    cordon: report.cordon?.status,
    asg: report.asg?.status,
  };
  if (handlingFailed(report)) {
    logger.error("notice handled, but the drain did not run", fields);
  } else if (d?.status === "partial") logger.warn("notice handled with pods left", fields);
  else logger.info("notice handled", fields);
}
