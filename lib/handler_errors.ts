/**
 * How the handler meets a failing Kubernetes API: transient errors are retried until the notice's
 * deadline with one `warn` each; permanent ones (401, 403, a missing node, a broken kubeconfig)
 * end their step at once with one `error` line that names the fix; a drain that cannot run ends
 * as a tagged `not-run` report, never a throw.
 *
 * @module
 */

import { errorText, type HandlerContext } from "./handler_context.ts";
import {
  type KubeErrorKind,
  kubeErrorKind,
  kubeFix,
  PERMANENT_KINDS,
  requestOf,
} from "./kube_errors.ts";
import type { DrainReport, NotRunReason } from "./report.ts";
import type { RetryOptions } from "./_async.ts";

/** The API request a step makes, named in the fix of a permanent failure. */
export interface RequestContext {
  verb: string;
  resource: string;
}

const NOT_RUN_BY_KIND: Partial<Record<KubeErrorKind, NotRunReason>> = {
  unauthorized: "unauthorized",
  forbidden: "forbidden",
  "not-found": "node-not-found",
  config: "config",
  tls: "config",
};

/** The not-run reason for an error that ended the Kubernetes branch. */
function notRunReason(error: unknown, fallback: NotRunReason): NotRunReason {
  const kind = kubeErrorKind(error);
  return PERMANENT_KINDS.has(kind) ? NOT_RUN_BY_KIND[kind] ?? fallback : "api-unreachable";
}

/**
 * One `error` line for a permanent failure, naming the fix; counted by kind and step. Returns the
 * error's text with the fix, for the report.
 */
export function permanent(
  ctx: HandlerContext,
  step: string,
  error: unknown,
  context: RequestContext,
): string {
  const kind = kubeErrorKind(error);
  // The request that failed names the grant better than the step that made it.
  const request = requestOf(errorText(error)) ?? context;
  const fix = kubeFix(kind, { ...request, kubeconfigPath: ctx.options.kubeconfigPath });
  ctx.deps.metrics?.inc("sth_kube_errors_total", { step, kind });
  ctx.logger.error(`${step} failed for good; not retrying`, {
    kind,
    error: errorText(error),
    fix,
  });
  return `${errorText(error)} — fix: ${fix}`;
}

/** Retry transient API errors until the deadline, each counted and logged; permanent ones stop. */
export function kubeRetry(ctx: HandlerContext, deadline: Date, what: string): RetryOptions {
  return {
    deadline,
    now: ctx.now,
    sleep: ctx.sleep,
    retryable: (error: unknown) => !PERMANENT_KINDS.has(kubeErrorKind(error)),
    onError: (error: unknown, attempt: number) => {
      if (PERMANENT_KINDS.has(kubeErrorKind(error))) return;
      ctx.deps.metrics?.inc("sth_kube_errors_total", { step: what, kind: "transient" });
      ctx.logger.warn(`${what}: Kubernetes API call failed; retrying until the deadline`, {
        attempt,
        error: errorText(error),
      });
    },
  };
}

/** The `not-run` drain report for an error that ended a step, with its one `error` line. */
export function notRun(
  ctx: HandlerContext,
  error: unknown,
  fallback: NotRunReason,
  step: string,
  context: RequestContext,
): DrainReport {
  const reason = notRunReason(error, fallback);
  if (reason !== "api-unreachable") {
    return { status: "not-run", reason, message: permanent(ctx, step, error, context) };
  }
  ctx.logger.error(`${step}: Kubernetes API unreachable until the deadline`, {
    error: errorText(error),
  });
  return { status: "not-run", reason, message: errorText(error) };
}
