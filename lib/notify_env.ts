/**
 * The start-up checks of the notifier variables, from the target table (lib/notify_targets.ts):
 * problems that stop start-up, and settings that are ignored but worth a warning. Neither ever
 * repeats a secret value.
 *
 * @module
 */

import { isEmailAddress, parseSmtpUrl } from "./mail_syntax.ts";
import { addresses } from "./notify_requests.ts";
import { present, requested, TARGETS, type VariableSpec } from "./notify_targets.ts";

function formatProblem(spec: VariableSpec, value: string): string | undefined {
  switch (spec.format) {
    case "http-url": {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `${spec.name}: not an http(s) URL`;
      }
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname
        ? undefined
        : `${spec.name}: not an http(s) URL`;
    }
    case "smtp-url":
      try {
        parseSmtpUrl(value);
        return undefined;
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return `${spec.name}: ${detail.replace(/^SMTP server URL: /, "")}`;
      }
    case "addresses": {
      const list = addresses(value);
      const bad = list.find((a) => !isEmailAddress(a));
      if (bad !== undefined) return `${spec.name}: ${JSON.stringify(bad)} is not an e-mail address`;
      return list.length === 0 ? `${spec.name}: no address` : undefined;
    }
    case "address": {
      const angle = /^[^<>\r\n]*<([^<>\s]+)>$/.exec(value);
      return isEmailAddress(angle ? angle[1] : value)
        ? undefined
        : `${spec.name}: ${JSON.stringify(value)} is not an e-mail address`;
    }
    default:
      return undefined;
  }
}

/**
 * Problems that must stop start-up, one per line, each naming the variable and never
 * repeating a secret value: a malformed URL or address, or a target's required variable missing
 * while another of its required variables is set.
 *
 * @example
 * ```ts
 * validateNotifierEnv({ SLACK_URL: "hooks.slack.com/x" }); // ["SLACK_URL: not an http(s) URL"]
 * validateNotifierEnv({ SMTP_URL: "smtp://mail:587" }); // ["EMAIL_TO: required with SMTP_URL"]
 * ```
 */
export function validateNotifierEnv(env: Record<string, string>): string[] {
  const values = present(env);
  const problems: string[] = [];
  for (const spec of TARGETS) {
    if (spec.retired || !requested(spec, values)) continue;
    const set = spec.variables.filter((x) => x.required && values[x.name] !== undefined)
      .map((x) => x.name);
    for (const variable of spec.variables) {
      const value = values[variable.name];
      if (value === undefined) {
        if (variable.required) problems.push(`${variable.name}: required with ${set.join(", ")}`);
        continue;
      }
      const problem = formatProblem(variable, value);
      if (problem) problems.push(problem);
    }
    if (spec.validate) problems.push(...spec.validate(values));
  }
  return problems;
}

/**
 * Settings that are ignored but worth telling the operator about: HipChat's variables, and
 * optional variables of a target that is not enabled (e.g. `SLACK_CHANNEL` without `SLACK_URL`).
 *
 * @example
 * ```ts
 * notifierWarnings({ HIPCHAT_AUTH_TOKEN: "t", HIPCHAT_ROOM_ID: "1" });
 * // ["HIPCHAT_AUTH_TOKEN, HIPCHAT_ROOM_ID: HipChat was shut down in 2019; ignored"]
 * ```
 */
export function notifierWarnings(env: Record<string, string>): string[] {
  const values = present(env);
  const warnings: string[] = [];
  for (const spec of TARGETS) {
    const set = spec.variables.filter((x) => values[x.name] !== undefined).map((x) => x.name);
    if (set.length === 0) continue;
    if (spec.retired) {
      warnings.push(`${set.join(", ")}: ${spec.retired}`);
    } else if (!requested(spec, values)) {
      const needed = spec.variables.filter((x) => x.required).map((x) => x.name);
      warnings.push(`${set.join(", ")}: set without ${needed.join(", ")}; ignored`);
    }
  }
  return warnings;
}
