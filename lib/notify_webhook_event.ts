/**
 * The generic JSON webhook's document (`WEBHOOK_URL`, schema version 1): its schema
 * ({@linkcode WebhookEventV1}) and the one function that builds it from a message.
 *
 * @module
 */

import type { NoticeKind } from "./notice.ts";
import type { Message } from "./notify_message.ts";
import type { AsgResult, DrainReport, PodOutcome, ReturnReport } from "./report.ts";

/**
 * The generic JSON webhook (`WEBHOOK_URL`), schema version 1. Sent as
 * `POST` with `Content-Type: application/json` once when a notice is handled (`event: "notice"`)
 * and once after the handler acted (`event: "result"`).
 *
 * Stability: within version 1 fields are only ever added, never renamed, retyped or removed;
 * a breaking change bumps `schemaVersion`. Receivers should ignore fields they do not know.
 *
 * ```jsonc
 * {
 *   "schemaVersion": 1,
 *   "event": "notice",                 // "notice" | "result" | "canceled" | "returned"
 *   "kind": "spot-interruption",       // | "rebalance-recommendation" | "scheduled-maintenance" | "asg-termination"
 *   "action": "terminate",             // AWS's detail: terminate/stop/hibernate, event code, lifecycle state
 *   "noticeId": "spot-interruption:2026-11-25T10:02:00Z", // stable across polls and restarts
 *   "cluster": "prod",                 // null when CLUSTER is unset
 *   "node": "ip-10-0-0-1.eu-west-1.compute.internal",
 *   "instanceId": "i-0123456789abcdef0",
 *   "instanceType": "m5.large",
 *   "availabilityZone": "eu-west-1a",
 *   "region": "eu-west-1",             // null when unknown
 *   "noticeTime": "2026-11-25T10:02:00.000Z", // when AWS acts (RFC 3339, UTC)
 *   "deadline": "2026-11-25T10:01:55.000Z",   // when the handler's work must be done
 *   "notAfter": "2026-11-25T12:00:00.000Z",   // maintenance only, when AWS gives it
 *   "actionAt": "2026-11-25T09:45:00.000Z",   // maintenance announced ahead: when cordon/drain begin
 *   "state": "canceled",               // only on "canceled": completed | canceled (nothing was done)
 *   "returned": {                      // only on "returned": the node came back
 *     "why": "rebooted",               // rebooted | resumed | event-completed | event-canceled
 *     "uncordoned": true,              // false: someone else had cordoned it; left cordoned
 *     "removed": ["taint spot-termination-handler/notice"]
 *   },
 *   "dryRun": false,                   // true: nothing is changed, only reported
 *   "plan": ["cordon", "taint", "drain", "detach-asg"],
 *   "test": true,                      // only on --test-notification messages
 *   "result": {                        // only on "result" events
 *     "drained": true,                 // true only when a drain was attempted (status drained/partial)
 *     "drain": { "status": "drained" }, // drained | partial | dry-run | not-run (+ reason, message); null when not planned
 *     "cordon": { "status": "cordoned" }, // cordoned | failed (+ message); null when not planned
 *     "evicted": ["default/web-7d4b9"],                       // namespace/name
 *     "remaining": [{ "pod": "default/db-0", "reason": "PodDisruptionBudget" }],
 *     "failed": [{ "pod": "kube-system/x", "reason": "403 Forbidden" }],
 *     "skipped": [{ "pod": "kube-system/aws-node-abc", "reason": "DaemonSet" }],
 *     "wouldEvict": ["default/web-7d4b9"],                    // dry run only
 *     "asg": { "status": "detached", "group": "workers", "message": "..." } // null when DETACH_ASG is off
 *   }
 * }
 * ```
 * `asg.status` is one of `detached`, `not-in-group`, `already-detaching`, `throttled`,
 * `access-denied`, `failed`, `dry-run`; `group` and `message` may be absent.
 *
 * @example
 * ```ts
 * // A receiver
 * declare const request: Request;
 * const event = (await request.json()) as WebhookEventV1;
 * if (event.schemaVersion === 1 && event.event === "result") console.log(event.result?.remaining);
 * ```
 */
export interface WebhookEventV1 {
  schemaVersion: 1;
  event: "notice" | "result" | "canceled" | "returned";
  kind: NoticeKind;
  action: string;
  noticeId: string;
  cluster: string | null;
  node: string;
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string | null;
  noticeTime: string;
  deadline: string;
  dryRun: boolean;
  plan: string[];
  test?: true;
  notAfter?: string;
  actionAt?: string;
  state?: "completed" | "canceled";
  returned?: ReturnReport;
  result?: {
    drained: boolean;
    drain: {
      status: DrainReport["status"];
      reason?: string;
      message?: string;
      resumed?: boolean;
    } | null;
    cordon: { status: string; message?: string } | null;
    wouldEvict?: string[];
    evicted: string[];
    remaining: PodOutcome[];
    failed: PodOutcome[];
    skipped: PodOutcome[];
    asg: AsgResult | null;
  };
}

/**
 * Build the generic webhook's body; see {@linkcode WebhookEventV1} for the schema.
 *
 * @example
 * ```ts
 * import type { Message } from "./notify_message.ts";
 * declare const message: Message;
 * JSON.stringify(webhookPayload(message)); // {"schemaVersion":1,"event":"notice",...}
 * ```
 */
export function webhookPayload(message: Message): WebhookEventV1 {
  const { notice, context } = message;
  const event: WebhookEventV1 = {
    schemaVersion: 1,
    event: message.phase === "start" ? "notice" : message.phase,
    kind: notice.kind,
    action: notice.action,
    noticeId: notice.id,
    cluster: context.cluster || null,
    node: context.node,
    instanceId: context.instanceId,
    instanceType: context.instanceType,
    availabilityZone: context.availabilityZone,
    region: context.region || null,
    noticeTime: notice.noticeTime.toISOString(),
    deadline: notice.deadline.toISOString(),
    dryRun: message.dryRun,
    plan: [...message.plan],
  };
  if (message.test) event.test = true;
  if (notice.notAfter) event.notAfter = notice.notAfter.toISOString();
  if (message.phase === "start" && message.actionAt) {
    event.actionAt = message.actionAt.toISOString();
  }
  if (message.phase === "canceled") event.state = message.state;
  if (message.phase === "returned") {
    event.returned = { ...message.returned, removed: [...message.returned.removed] };
  }
  if (message.phase === "result") {
    const { drain, asg, cordon } = message.report;
    const attempted = drain?.status === "drained" || drain?.status === "partial"
      ? drain
      : undefined;
    event.result = {
      drained: attempted !== undefined,
      drain: drain
        ? {
          status: drain.status,
          ...(drain.status === "not-run" ? { reason: drain.reason, message: drain.message } : {}),
          ...(attempted?.resumed ? { resumed: true } : {}),
        }
        : null,
      cordon: cordon ? { ...cordon } : null,
      ...(drain?.status === "dry-run" ? { wouldEvict: [...drain.wouldEvict] } : {}),
      evicted: attempted?.evicted ?? [],
      remaining: attempted?.remaining ?? [],
      failed: attempted?.failed ?? [],
      skipped: drain && "skipped" in drain ? drain.skipped : [],
      asg: asg ?? null,
    };
  }
  return event;
}
