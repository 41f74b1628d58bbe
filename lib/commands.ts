/**
 * The operator commands: `--check` runs the preflight once against the real environment (through
 * `kubectl exec` in a pod) and `--test-notification` sends one message marked as a test to every
 * configured target. Both print one plain line per item and exit 0 only when everything passed,
 * so they work in scripts and CI as well as by hand.
 *
 * @module
 */

import type { AsgDetacher } from "./asg.ts";
import type { Identity } from "./imds.ts";
import { computeDeadline, type Notice } from "./notice.ts";
import type { Notifier } from "./notify.ts";
import type { NotifyContext } from "./notify_message.ts";
import type { Preflight } from "./preflight.ts";
import type { CheckResult } from "./preflight_result.ts";

/** Where the commands print; `console.log` in main, an array in tests. */
export type Print = (line: string) => void;

/** One line for a check: `ok    rbac: granted ...` or `FAIL  rbac: ... — fix: ...`. */
export function checkLine(result: CheckResult): string {
  return result.ok
    ? `ok    ${result.name}: ${result.detail}`
    : `FAIL  ${result.name}: ${result.detail}${result.fix ? ` — fix: ${result.fix}` : ""}`;
}

/**
 * `--check`: the preflight once, plus (with `DETACH_ASG` on) a read-only Auto Scaling call that
 * proves the credentials and the IAM policy. Resolves with the exit code.
 *
 * @example
 * ```ts
 * import type { Preflight } from "./preflight.ts";
 * declare const preflight: Preflight;
 *
 * const code = await runCheck({ preflight, print: console.log });
 * ```
 */
export async function runCheck(options: {
  preflight: Preflight;
  print: Print;
  /** With DETACH_ASG on: a detacher for the instance's region, and the instance. */
  asg?: () => Promise<{ detacher: AsgDetacher; identity: Identity }>;
}): Promise<number> {
  const results = await options.preflight.run();
  for (const r of results) options.print(checkLine(r));
  let ok = results.every((r) => r.ok);
  if (options.asg) {
    try {
      const { detacher, identity } = await options.asg();
      const result = await detacher.detach(identity.instanceId, { dryRun: true });
      const good = result.status === "dry-run" || result.status === "not-in-group";
      ok &&= good;
      const detail = result.status === "dry-run"
        ? `DescribeAutoScalingInstances ok; ${identity.instanceId} is in ${
          result.group ?? "a group"
        }`
        : `${result.status}${result.message ? `: ${result.message}` : ""}`;
      options.print(checkLine({
        name: "aws-credentials",
        ok: good,
        detail: `auto scaling: ${detail}`,
        ...(good ? {} : {
          fix:
            "allow autoscaling:DescribeAutoScalingInstances and autoscaling:DetachInstances to the handler's IAM role",
        }),
      }));
    } catch (error) {
      ok = false;
      options.print(`FAIL  aws-credentials: auto scaling: ${(error as Error)?.message ?? error}`);
    }
  }
  options.print(ok ? "all checks passed" : "some checks failed");
  return ok ? 0 : 1;
}

/**
 * `--test-notification`: one start message, marked as a test, to every target; one line per
 * delivery. Resolves with the exit code (1 when a delivery failed or no target is configured).
 *
 * @example
 * ```ts
 * import type { Notifier } from "./notify.ts";
 * import type { NotifyContext } from "./notify_message.ts";
 * declare const notifier: Notifier;
 * declare const context: NotifyContext;
 *
 * const code = await runTestNotification({ notifier, context, print: console.log, now: new Date() });
 * ```
 */
export async function runTestNotification(options: {
  notifier: Notifier;
  context: NotifyContext;
  print: Print;
  now: Date;
}): Promise<number> {
  const { notifier, print, now } = options;
  if (notifier.targets.length === 0) {
    print("no notification target is configured (see --help, Notifications)");
    return 1;
  }
  const noticeTime = new Date(now.getTime() + 120_000);
  const notice: Notice = {
    id: `test:${now.toISOString()}`,
    kind: "spot-interruption",
    noticeTime,
    deadline: computeDeadline(noticeTime, now),
    action: "test",
    raw: "",
  };
  const outcomes = await notifier.send({
    phase: "start",
    notice,
    context: options.context,
    dryRun: false,
    plan: [],
    test: true,
  });
  for (const o of outcomes) {
    const tries = `${o.attempts} attempt${o.attempts === 1 ? "" : "s"}`;
    print(o.ok ? `ok    ${o.target} (${tries})` : `FAIL  ${o.target}: ${o.error} (${tries})`);
  }
  return outcomes.every((o) => o.ok) ? 0 : 1;
}
