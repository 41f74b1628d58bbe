/**
 * The notice's record on the node, read and written: one bounded look before anything else (so a
 * restart resumes or skips a notice), `announced` for a maintenance event ahead of its time, and
 * `done` or `failed` at the end. The `started` mark rides in the cordon's PATCH
 * (handler_kube.ts). What the record holds is handler_state.ts's.
 *
 * @module
 */

import { errorText, type HandlerContext } from "./handler_context.ts";
import { kubeRetry } from "./handler_errors.ts";
import {
  annotationKey,
  type HandledPhase,
  handledStateValue,
  type NodeView,
  parseHandledState,
} from "./handler_state.ts";
import type { Notice } from "./notice.ts";
import type { Step } from "./policy.ts";
import { retryUntil, withTimeout } from "./_async.ts";

/** The node a notice is handled on (`unknown` until found) and what the quick look saw. */
export interface KnownNode {
  node: string;
  view: NodeView;
}

/** The annotation value for a notice in a phase, stamped with the handler's clock. */
export function stateOf(
  ctx: HandlerContext,
  notice: Notice,
  phase: HandledPhase,
  view: NodeView,
  plan: Step[],
): string {
  return handledStateValue(notice, phase, view, plan, {
    at: ctx.now(),
    excludeFromLoadBalancers: ctx.options.excludeFromLoadBalancers,
  });
}

/**
 * One bounded look at the node: the annotation says whether this notice was handled before a
 * restart. When the API cannot answer within `STATE_READ_MS` (handler_context.ts), handling goes
 * on as if it had not been (messages are at-least-once; `noticeId` lets receivers dedupe).
 */
export async function quickLook(ctx: HandlerContext, notice: Notice): Promise<KnownNode> {
  const node = await withTimeout(ctx.nodeName(), ctx.stateReadMs).catch(() => undefined);
  if (!node) return { node: "unknown", view: {} };
  try {
    const info = await withTimeout(
      ctx.deps.kubeCore().then((core) => core.getNode(node)),
      ctx.stateReadMs,
    );
    return {
      node,
      view: { info, previous: parseHandledState(info.annotations[annotationKey(notice.kind)]) },
    };
  } catch (error) {
    ctx.logger.warn("could not read the node's handling state in time; acting anyway", {
      node,
      error: errorText(error),
    });
    return { node, view: {} };
  }
}

/** Mark a maintenance event `announced`, unless another event's cordon is in force. */
export async function markAnnounced(ctx: HandlerContext, notice: Notice, known: KnownNode) {
  const previous = known.view.previous;
  // Never overwrite another event's record while its cordon is in force: the node's return
  // needs it. The timer in this process still holds the new event.
  const inForce = previous && previous.id !== notice.id && previous.cordoned &&
    ["started", "done", "failed"].includes(previous.phase);
  const core = await ctx.deps.kubeCore().catch(() => undefined);
  if (!core || known.node === "unknown" || inForce) return;
  const value = stateOf(ctx, notice, "announced", {}, []);
  await retryUntil(
    () => core.patchNode(known.node, { annotations: { [annotationKey(notice.kind)]: value } }),
    kubeRetry(ctx, new Date(ctx.now().getTime() + 10_000), "mark maintenance announced"),
  ).catch((error) =>
    ctx.logger.warn("could not mark the maintenance event announced on the node", {
      error: errorText(error),
    })
  );
}

/** Mark the notice `done` or `failed`, after the result message: at least once, never lost. */
export async function markFinal(
  ctx: HandlerContext,
  notice: Notice,
  known: KnownNode,
  plan: Step[],
  failed: boolean,
) {
  const phase = failed ? "failed" : "done";
  const core = await ctx.deps.kubeCore().catch(() => undefined);
  if (!core || known.node === "unknown") return;
  await retryUntil(
    () =>
      core.patchNode(known.node, {
        annotations: {
          [annotationKey(notice.kind)]: stateOf(ctx, notice, phase, known.view, plan),
        },
      }),
    kubeRetry(
      ctx,
      new Date(Math.max(notice.deadline.getTime(), ctx.now().getTime() + 10_000)),
      "mark notice handled",
    ),
  ).catch((error) =>
    ctx.logger.warn("could not mark the notice handled on the node", { error: errorText(error) })
  );
}
