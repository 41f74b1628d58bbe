/**
 * The start-up check, repeated every few minutes: can the handler do its job when a notice comes?
 * A misconfiguration (no RBAC for evictions, a kubeconfig the client refuses, IMDSv2 behind a hop
 * limit of 1, no AWS credentials) must show the day it is deployed — as a log line that names the
 * fix, a metric, and `/readyz` 503 so `kubectl rollout status` stops — not two minutes before an
 * instance goes away. The checks use the small fetch-based client (kube_http.ts) in-cluster, so
 * running them does not load `@kubernetes/client-node` into an idle handler.
 *
 * @module
 */

import type { Imds } from "./imds.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { KubeCore } from "./kube_http.ts";
import { awsCheck, type AwsCredentialEnv, imdsCheck } from "./preflight_aws.ts";
import { type KubeCheckOptions, kubeChecks } from "./preflight_kube.ts";
import type { CheckName, CheckResult } from "./preflight_result.ts";

/** What the checks need; all injected. */
export interface PreflightDeps {
  kubeCore: () => Promise<KubeCore>;
  imds: Pick<Imds, "get" | "identity">;
  logger: Logger;
  metrics?: Metrics;
  /** Whether a file can be read (token files); injected for tests. */
  readable?: (path: string) => Promise<boolean>;
}

/** What to check: the node and pod (Kubernetes), IMDS, and AWS credentials with `detachAsg`. */
export interface PreflightOptions extends KubeCheckOptions {
  imdsV1Disabled: boolean;
  detachAsg: boolean;
  awsEnv: AwsCredentialEnv;
}

/** Runs the checks and remembers the last outcome. */
export interface Preflight {
  /** Run every check once; logs each line that changed since the last run. */
  run(): Promise<CheckResult[]>;
  /** `undefined` when every check passed last time (or none ran yet), else `"<check>: <detail>"`. */
  failing(): string | undefined;
  /** Rerun every `intervalMs` (faster while a check fails) until the signal aborts. */
  repeat(
    signal: AbortSignal,
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  ): Promise<void>;
}

/** Rerun every 5 minutes while all is well; every 30 s while something fails, so a fix shows soon. */
export const PREFLIGHT_INTERVAL_MS = 5 * 60_000;
const PREFLIGHT_RETRY_MS = 30_000;

/**
 * Create the preflight.
 *
 * @example
 * ```ts
 * declare const deps: PreflightDeps, options: PreflightOptions;
 * const preflight = createPreflight(deps, options);
 * const results = await preflight.run();
 * if (results.some((r) => !r.ok)) console.log(preflight.failing());
 * ```
 */
export function createPreflight(deps: PreflightDeps, options: PreflightOptions): Preflight {
  let last: CheckResult[] | undefined;
  const seen = new Map<CheckName, string>();

  function report(results: CheckResult[]) {
    for (const r of results) {
      deps.metrics?.set("sth_preflight_check", r.ok ? 1 : 0, { check: r.name });
      const key = `${r.ok}|${r.detail}`;
      if (seen.get(r.name) === key) continue;
      seen.set(r.name, key);
      if (r.ok) deps.logger.info(`preflight ok: ${r.name}`, { detail: r.detail });
      else deps.logger.error(`preflight failed: ${r.name}`, { problem: r.detail, fix: r.fix });
    }
  }

  async function run(): Promise<CheckResult[]> {
    const [kube, imds] = await Promise.all([
      kubeChecks(deps.kubeCore, options),
      imdsCheck(deps.imds, options.imdsV1Disabled),
    ]);
    const results = [...kube, imds.result];
    if (options.detachAsg) {
      results.push(await awsCheck(options.awsEnv, deps.imds, deps.readable));
    }
    report(results);
    last = results;
    return results;
  }

  return {
    run,
    failing() {
      const bad = last?.find((r) => !r.ok);
      return bad ? `${bad.name}: ${bad.detail}` : undefined;
    },
    async repeat(signal, sleep) {
      while (!signal.aborted) {
        await sleep(last?.every((r) => r.ok) ? PREFLIGHT_INTERVAL_MS : PREFLIGHT_RETRY_MS, signal);
        if (signal.aborted) return;
        await run().catch((error) =>
          deps.logger.warn("preflight could not run", { error: String(error) })
        );
      }
    },
  };
}
