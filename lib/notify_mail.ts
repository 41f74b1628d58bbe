/**
 * One mail delivery attempt: a whole SMTP transaction within the attempt's timeout; the server's
 * reply code decides whether to retry (lib/smtp.ts).
 *
 * @module
 */

import { type Attempt, bounded, type Delivering, describe } from "./notify_attempt.ts";
import type { Delivery } from "./notify_requests.ts";
import { SmtpError } from "./smtp_session.ts";

/** Send one mail within the attempt's timeout; an SMTP 4xx or no reply is worth a retry. */
export function attemptMail(
  ctx: Delivering,
  delivery: Extract<Delivery, { kind: "mail" }>,
  signal?: AbortSignal,
): Promise<Attempt> {
  return bounded(ctx.timeoutMs, signal, async (attemptSignal) => {
    await ctx.smtpFor(delivery.server).send(delivery.mail, { signal: attemptSignal });
    return { ok: true };
  }, (error) =>
    error instanceof SmtpError
      ? {
        ok: false,
        retry: error.transient,
        status: error.code === undefined ? error.step : String(error.code),
        error: describe(error, ctx.fragments),
      }
      : { ok: false, retry: false, status: "invalid", error: describe(error, ctx.fragments) });
}
