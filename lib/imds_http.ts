/**
 * One bounded IMDS HTTP request: a total time limit (body read included), a byte limit on the
 * answer, and redirects refused, so an unreachable, slow or hostile IMDS never hangs a caller or
 * grows the process. Every failure is an {@linkcode ImdsError} of its kind.
 *
 * @module
 */

import { timeoutSignal } from "./_async.ts";
import { BodyTooLargeError, readBounded } from "./body.ts";
import { redactUserInfo } from "./redact.ts";

/** An IMDS answer the caller has to interpret: 200 (found) or 404 (nothing there). */
export interface ImdsResponse {
  status: number;
  body: string;
}

/** Why an IMDS request failed. */
export type ImdsErrorKind =
  | "timeout"
  | "refused"
  | "http"
  | "token"
  | "aborted"
  | "too_large"
  | "redirect";

/** Options of the {@linkcode ImdsError} constructor. */
export interface ImdsErrorOptions {
  status?: number;
  cause?: unknown;
  /** Replaces the default message; must name the path and never contain a token. */
  message?: string;
}

/**
 * Why a request failed, for an error message or a log line: without URL user-info, since
 * error texts from fetch may quote the URL and an operator's URL may carry it.
 *
 * @example
 * ```ts
 * describeCause(new TypeError("error sending request for url (http://u:p@10.0.0.1/)"));
 * ```
 */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return redactUserInfo(cause.message);
  return cause === undefined ? "" : redactUserInfo(String(cause));
}

/**
 * An IMDS request that did not produce a 200 or 404. The message names the path; tokens never
 * appear in it.
 *
 * @example
 * ```ts
 * declare const imds: import("./imds.ts").Imds;
 * try {
 *   await imds.get("meta-data/spot/instance-action");
 * } catch (err) {
 *   if (err instanceof ImdsError && err.kind === "timeout") console.log(err.path);
 * }
 * ```
 */
export class ImdsError extends Error {
  readonly kind: ImdsErrorKind;
  readonly status?: number;
  readonly path: string;

  constructor(kind: ImdsErrorKind, path: string, options: ImdsErrorOptions = {}) {
    const reason = describeCause(options.cause);
    const defaults: Record<ImdsErrorKind, string> = {
      timeout: `IMDS ${path}: no answer in time`,
      refused: `IMDS ${path}: request failed${reason ? ` (${reason})` : ""}`,
      http: `IMDS ${path}: HTTP ${options.status}`,
      token: `IMDS ${path}: no IMDSv2 token${
        options.status ? ` (HTTP ${options.status})` : reason ? ` (${reason})` : ""
      }`,
      aborted: `IMDS ${path}: aborted`,
      too_large: `IMDS ${path}: answer larger than ${MAX_BODY_BYTES} bytes`,
      redirect: `IMDS ${path}: redirected${
        options.status ? ` (HTTP ${options.status})` : ""
      }; IMDS never redirects, not followed`,
    };
    super(options.message ?? defaults[kind], { cause: options.cause });
    this.name = "ImdsError";
    this.kind = kind;
    this.status = options.status;
    this.path = path;
  }
}

/**
 * The most bytes read from any IMDS answer. The largest legitimate answers are small: the
 * IMDSv2 token (AWS does not document its length; real ones are about 56 characters), the
 * scheduled-events JSON array (about 300 bytes per event: code, a one-line description, an id
 * and three times; AWS lists the events still to come, rarely more than one or two) and, for
 * the preflight, `iam/security-credentials/<role>` (about 1.5 KB with its session token).
 * 8 KiB holds some 25 scheduled events, five times the largest credential document, and still
 * bounds what a hostile or broken endpoint can make the handler hold per request.
 */
export const MAX_BODY_BYTES = 8 * 1024;

/**
 * The body, at most {@linkcode MAX_BODY_BYTES}. IMDS declares the length of every answer; a
 * declared length within the limit already bounds what the HTTP client reads (it stops at the
 * declared length), so `text()` is safe there and costs a quarter of the streamed read, which
 * adds up at several requests a second. Everything else (no length, chunked, over the limit)
 * goes through readBounded.
 */
function readBody(res: Response): Promise<string> {
  const declared = res.headers.get("content-length");
  if (
    declared !== null && /^\d{1,5}$/.test(declared) && Number(declared) <= MAX_BODY_BYTES &&
    !res.headers.has("transfer-encoding")
  ) {
    return res.text();
  }
  return readBounded(res, MAX_BODY_BYTES);
}

/** What one request sends besides its URL. */
export interface ImdsRequestInit {
  method?: string;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

/** How one client reaches IMDS. */
export interface Transport {
  fetch: typeof fetch;
  timeoutMs: number;
}

/**
 * One bounded IMDS request: the timeout covers the body read too, redirects are refused, the
 * body is capped; every failure is an {@linkcode ImdsError} of its kind.
 *
 * @example
 * ```ts
 * const transport = { fetch, timeoutMs: 2000 };
 * const url = "http://169.254.169.254/latest/meta-data/instance-id";
 * await request(transport, url, "meta-data/instance-id", { headers: {} });
 * ```
 */
export async function request(
  transport: Transport,
  url: string,
  path: string,
  init: ImdsRequestInit,
): Promise<ImdsResponse> {
  if (init.signal?.aborted) throw new ImdsError("aborted", path);
  // One signal per request, aborted by the timer or by the caller.
  const { timeoutMs } = transport;
  const cut = timeoutSignal(timeoutMs, init.signal);
  try {
    const res = await transport.fetch(url, {
      method: init.method ?? "GET",
      headers: init.headers,
      signal: cut.signal,
      // IMDS never redirects. Following one would carry the token header to another host
      // and take that host's body as IMDS's answer.
      redirect: "manual",
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => {});
      throw new ImdsError("redirect", path, { status: res.status });
    }
    // The body is read under the same timeout (a server may send headers and then stall or
    // drip) and with a byte limit (or a 100 MB or endless answer would be held in memory).
    const body = await readBody(res);
    return { status: res.status, body };
  } catch (err) {
    if (err instanceof ImdsError) throw err;
    if (init.signal?.aborted) throw new ImdsError("aborted", path, { cause: err });
    if (err instanceof BodyTooLargeError) throw new ImdsError("too_large", path);
    if (cut.timedOut()) {
      throw new ImdsError("timeout", path, {
        message: `IMDS ${path}: no answer within ${timeoutMs} ms`,
      });
    }
    throw new ImdsError("refused", path, { cause: err });
  } finally {
    cut.clear();
  }
}
