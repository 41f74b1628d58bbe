/**
 * The end of a notice: a maintenance event that completes or is canceled before its time is
 * cancelled (its timer dropped, a `canceled` message), and a node the handler cordoned that comes
 * back — a new `status.nodeInfo.bootID` after a reboot or a spot stop/hibernate, or its maintenance
 * event completed/canceled — is returned to service: uncordoned (unless someone else had cordoned
 * it before the handler), its taint and the load-balancer label the handler added removed, the
 * annotation marked `returned`, and a "back in service" message sent. The decision is a pure
 * function of the node and the finished events ({@linkcode decideReturn}); the node is read and
 * patched with the small fetch client, so an idle handler never loads the full Kubernetes client.
 *
 * @module
 */

import type { FinishedEvent } from "./maintenance.ts";
import type { KubeCore } from "./kube_http.ts";
import type { NodeInfo } from "./kube.ts";
import { decideReturn, type ReturnDecision } from "./node_return_decide.ts";
import {
  cancelEvents,
  type NodeReturnDeps,
  type NodeReturnOptions,
  returnNode,
  type ReturnState,
} from "./node_return_steps.ts";
import type { ReturnReport } from "./report.ts";

/** What one check did. */
export interface ReturnOutcome {
  canceled: string[];
  returned?: ReturnReport;
}

/** See {@linkcode createNodeReturn}. */
export interface NodeReturn {
  /** Look at the node once and end what is over; never rejects (problems are logged). */
  check(): Promise<ReturnOutcome>;
  /** The monitor's list of finished events, every round: checks when one is new. */
  eventsFinished(events: readonly FinishedEvent[]): Promise<void>;
  /** Check now and then every `intervalMs` until the signal aborts. */
  repeat(
    signal: AbortSignal,
    sleep: (ms: number, signal: AbortSignal) => Promise<void>,
    intervalMs: number,
  ): Promise<void>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One check: read the node, decide, cancel what is over, return the node if it is back. */
async function checkOnce(state: ReturnState): Promise<ReturnOutcome> {
  const { deps } = state;
  let node: string;
  let core: KubeCore;
  let info: NodeInfo;
  try {
    node = await deps.nodeName();
    core = await deps.kubeCore();
    info = await core.getNode(node);
  } catch (error) {
    // Only timers can be cancelled without the node; the return waits for the next check.
    const decision: ReturnDecision = { cancel: [] };
    const canceled = await cancelEvents(state, undefined, "unknown", decision).catch(() => []);
    deps.logger.warn("could not read the node to check for its return; trying again later", {
      error: errorText(error),
    });
    return { canceled };
  }
  const decision = decideReturn(info, state.finished, deps.busy(), state.now());
  const canceled = await cancelEvents(state, core, node, decision);
  if (!decision.back) {
    if (decision.waiting) deps.logger.debug("node stays cordoned", { reason: decision.waiting });
    return { canceled };
  }
  const returned = await returnNode(state, core, node, info, decision.back);
  return returned ? { canceled, returned } : { canceled };
}

/**
 * Create the return step. `main.ts` runs {@linkcode NodeReturn.repeat} (at start-up, then every
 * preflight interval) and feeds the monitor's finished events to
 * {@linkcode NodeReturn.eventsFinished}.
 *
 * @example
 * ```ts
 * declare const deps: import("./node_return_steps.ts").NodeReturnDeps;
 * declare const handler: import("./handler.ts").Handler;
 * const { kubeCore, nodeName, identity, notifier, logger, scheduler } = deps;
 * const back = createNodeReturn({ kubeCore, nodeName, identity, notifier, logger, busy: handler.busy, scheduler }, { dryRun: false });
 * await back.check();
 * ```
 */
export function createNodeReturn(deps: NodeReturnDeps, options: NodeReturnOptions): NodeReturn {
  const state: ReturnState = {
    deps,
    options,
    now: deps.now ?? (() => new Date()),
    finished: new Map<string, FinishedEvent>(),
    previewed: new Set<string>(),
  };
  // One check at a time: a tick and a new finished event must not both patch the node.
  let queue: Promise<unknown> = Promise.resolve();

  function check(): Promise<ReturnOutcome> {
    const run = queue.then(() => checkOnce(state)).catch((error): ReturnOutcome => {
      deps.logger.warn("could not return the node to service; trying again later", {
        error: errorText(error),
      });
      return { canceled: [] };
    });
    queue = run;
    return run;
  }

  return {
    check,
    async eventsFinished(events) {
      const fresh = events.filter((e) => state.finished.get(e.id)?.state !== e.state);
      if (fresh.length === 0) return;
      for (const e of fresh) state.finished.set(e.id, e);
      await check();
    },
    async repeat(signal, sleep, intervalMs) {
      while (!signal.aborted) {
        await check();
        await sleep(intervalMs, signal).catch(() => {});
      }
    },
  };
}
