/**
 * What an Auto Scaling error amounts to: throttled, access denied or failed, with a message that
 * names the call and never quotes an access key id.
 *
 * @module
 */

import type { AsgResult } from "./report.ts";

// Mirrors the SDK's own list, minus LimitExceededException: for Auto Scaling that is a quota.
const THROTTLING_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
  "EC2ThrottledException",
  "BandwidthLimitExceeded",
  "PriorRequestNotComplete",
]);

const ACCESS_DENIED_CODES = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
]);

/** The Auto Scaling calls a detach makes. */
export type Action = "DescribeAutoScalingInstances" | "DetachInstances";

interface AwsErrorLike {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: { throttling?: boolean };
}

/** `text` without access key ids, cut to one log line's worth. */
export function redact(text: string): string {
  // AWS messages may quote the caller's access key id; keep logs free of credential material.
  return text.replace(/\b(AKIA|ASIA)[A-Z0-9]{8,}\b/g, "$1***").slice(0, 300);
}

function errorCode(error: unknown): string {
  const name = (error as AwsErrorLike)?.name;
  return typeof name === "string" && name !== "" && name !== "Error" ? name : "UnknownError";
}

/** The {@linkcode AsgResult} an error of `action` (on `group`, once known) amounts to. */
export function classify(error: unknown, where: { action: Action; group?: string }): AsgResult {
  const { action, group } = where;
  const e = (error ?? {}) as AwsErrorLike;
  const code = errorCode(error);
  const attempts = e.$metadata?.attempts;
  const base = group === undefined ? {} : { group };
  if (code === "AbortError") {
    return { ...base, status: "failed", message: `${action} aborted (AbortError)` };
  }
  if (
    THROTTLING_CODES.has(code) || e.$metadata?.httpStatusCode === 429 ||
    e.$retryable?.throttling === true
  ) {
    const tries = attempts === undefined ? "" : ` after ${attempts} attempt(s)`;
    return { ...base, status: "throttled", message: `${action} throttled (${code})${tries}` };
  }
  if (ACCESS_DENIED_CODES.has(code)) {
    return {
      ...base,
      status: "access-denied",
      message: `${action} denied (${code}): the role lacks IAM permission autoscaling:${action}`,
    };
  }
  const detail = typeof e.message === "string" && e.message !== "" ? `: ${redact(e.message)}` : "";
  return { ...base, status: "failed", message: `${action} failed (${code})${detail}` };
}
