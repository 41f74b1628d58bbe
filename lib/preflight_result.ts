/**
 * What one preflight check reports: the shape the Kubernetes and AWS checks return, the runner
 * logs and `--check` prints.
 *
 * @module
 */

/** The checks, in the order they run and are printed. */
export type CheckName = "kubernetes-api" | "node" | "rbac" | "imds" | "aws-credentials";

/** One check's outcome. */
export interface CheckResult {
  name: CheckName;
  ok: boolean;
  /** What was found: "ok ..." or the exact problem. */
  detail: string;
  /** What to change, when it failed. */
  fix?: string;
}

/**
 * A failed check.
 *
 * @example
 * ```ts
 * failure("rbac", "not granted: list pods", "add \"list pods\" to the ClusterRole");
 * ```
 */
export function failure(name: CheckName, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}
