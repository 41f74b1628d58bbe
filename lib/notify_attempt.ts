/**
 * One delivery attempt, whatever the transport: its outcome ({@linkcode Attempt}), what every
 * attempt of one notifier shares ({@linkcode Delivering}), its timeout, and errors described
 * without a secret (lib/scrub.ts). The transports: lib/notify_http.ts and lib/notify_mail.ts.
 *
 * @module
 */

import { type Sleep, timeoutSignal } from "./_async.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { DeliverySettings } from "./notify_requests.ts";
import { scrub } from "./scrub.ts";
import type { SmtpSender } from "./smtp.ts";

/** How one attempt went; a failure says whether to retry and, scrubbed, why. */
export type Attempt =
  | { ok: true }
  | {
    ok: false;
    retry: boolean;
    status: string;
    error: string;
    retryAfterMs?: number;
    /** The start of the error response's body, scrubbed, for the log line. */
    response?: string;
  };

/** What every delivery of one notifier shares: its settings, transports and secrets. */
export interface Delivering {
  logger: Logger;
  metrics?: Metrics;
  fetch: typeof fetch;
  timeoutMs: number;
  /** Attempts in total per target and message. */
  attempts: number;
  sleep: Sleep;
  smtpFor: (server: string) => SmtpSender;
  /** The set notifier variables, as the table's `deliver` reads them. */
  values: Record<string, string>;
  settings: DeliverySettings;
  /** What {@linkcode scrub} removes from any text from below. */
  fragments: string[];
}

/** The error's message and its causes' (fetch puts the useful part, and the URL, there), scrubbed. */
export function describe(error: unknown, fragments: string[]): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const text = current instanceof Error ? current.message : String(current);
    // Our own errors already quote their cause; do not say it twice.
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return scrub(parts.join(": "), fragments);
}

/** Run one attempt with its own timeout, also ended by the caller's signal. */
export async function bounded(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<Attempt>,
  fail: (error: unknown) => Attempt,
): Promise<Attempt> {
  const cut = timeoutSignal(timeoutMs, signal);
  try {
    return await work(cut.signal);
  } catch (error) {
    if (signal?.aborted) return { ok: false, retry: false, status: "aborted", error: "aborted" };
    if (cut.timedOut()) {
      return {
        ok: false,
        retry: true,
        status: "timeout",
        error: `timed out after ${timeoutMs} ms`,
      };
    }
    return fail(error);
  } finally {
    cut.clear();
  }
}
