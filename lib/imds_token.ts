/**
 * The IMDSv2 session token of one IMDS client ({@linkcode TokenSession}) and the IMDSv1 fallback.
 * A token never appears in a log line or an error.
 *
 * @module
 */

import { type Clock, raceAbort } from "./_async.ts";
import { describeCause, ImdsError, type ImdsRequestInit, type ImdsResponse } from "./imds_http.ts";
import type { Logger } from "./log.ts";

/** Header carrying the token on every request. */
export const TOKEN_HEADER = "X-aws-ec2-metadata-token";
/** Header of the token PUT asking for a lifetime in seconds. */
const TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds";
/** How long IMDSv1 mode lasts before IMDSv2 is tried again. */
export const V2_RETRY_MS = 5 * 60_000;

/** Where the token is asked for (PUT), relative to `/latest/`. */
export const TOKEN_PATH = "api/token";
// Refreshing before expiry means a request never carries a token that dies in flight.
const REFRESH_FRACTION = 0.8;
// IMDS answers these when IMDSv2 is off or the PUT is blocked (e.g. by a proxy).
const FALLBACK_STATUSES = new Set([403, 404, 405]);
// A token goes into a header: anything but visible ASCII would be refused by fetch, or worse.
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

interface CachedToken {
  value: string;
  refreshAt: number;
  expiresAt: number;
}

function waitOrAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, path: string) {
  return signal ? raceAbort(promise, signal, () => new ImdsError("aborted", path)) : promise;
}

/** What a {@linkcode TokenSession} needs from its client. */
export interface TokenSessionOptions {
  request: (url: string, path: string, init: ImdsRequestInit) => Promise<ImdsResponse>;
  tokenUrl: string;
  ttlSeconds: number;
  v1Fallback: boolean;
  logger: Logger;
  now: Clock;
}

/**
 * The IMDSv2 session: one token shared by every request, refreshed before it expires, one PUT
 * at a time; IMDSv1 (no token) when IMDSv2 is off, tried again every {@linkcode V2_RETRY_MS}.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * import { request } from "./imds_http.ts";
 * const transport = { fetch, timeoutMs: 2000 };
 * const session = new TokenSession({
 *   request: (url, path, init) => request(transport, url, path, init),
 *   tokenUrl: "http://169.254.169.254/latest/api/token",
 *   ttlSeconds: 21600,
 *   v1Fallback: true,
 *   logger: createLogger(),
 *   now: () => new Date(),
 * });
 * const headers = session.headersFor(await session.current(undefined, false));
 * ```
 */
export class TokenSession {
  #o: TokenSessionOptions;
  #mode: "unknown" | "v2" | "v1" = "unknown";
  #token: CachedToken | undefined;
  #nextV2AttemptAt = 0;
  #inFlight: Promise<string | null> | undefined;
  // Built once per token, not per request: the poll loop sends the same header all day.
  #headers: { value: string; headers: Record<string, string> } | undefined;
  #ttlHeaders: Record<string, string>;

  constructor(options: TokenSessionOptions) {
    this.#o = options;
    this.#ttlHeaders = { [TOKEN_TTL_HEADER]: String(options.ttlSeconds) };
  }

  /** The headers carrying `value`, or none for IMDSv1. */
  headersFor(value: string | null): Record<string, string> {
    if (value === null) return NO_HEADERS;
    if (this.#headers?.value !== value) {
      this.#headers = { value, headers: { [TOKEN_HEADER]: value } };
    }
    return this.#headers.headers;
  }

  /** Drop `sent` after a 401, unless a concurrent request has already replaced it. */
  forget(sent: string): void {
    if (this.#token?.value === sent) this.#token = undefined;
  }

  /** The token to send, or null in IMDSv1 mode. `force` skips the cache (after a 401). */
  async current(signal: AbortSignal | undefined, force: boolean): Promise<string | null> {
    if (!force) {
      if (this.#token && this.#o.now().getTime() < this.#token.refreshAt) return this.#token.value;
      if (this.#mode === "v1" && this.#o.now().getTime() < this.#nextV2AttemptAt) return null;
    }
    for (;;) {
      // One PUT at a time: a poll round asks five paths at once and they share the token.
      if (!this.#inFlight) {
        const started: Promise<string | null> = this.#obtain(signal).finally(() => {
          if (this.#inFlight === started) this.#inFlight = undefined;
        });
        this.#inFlight = started;
      }
      try {
        return await waitOrAbort(this.#inFlight, signal, TOKEN_PATH);
      } catch (err) {
        // The shared PUT was cut by another caller's signal, not ours: try again ourselves.
        if (err instanceof ImdsError && err.kind === "aborted" && !signal?.aborted) continue;
        throw err;
      }
    }
  }

  #fallBack(reason: { status?: number; cause?: unknown }): null {
    const why = reason.status ? `HTTP ${reason.status}` : describeCause(reason.cause);
    if (!this.#o.v1Fallback) {
      throw new ImdsError("token", TOKEN_PATH, {
        ...reason,
        message: `IMDS ${TOKEN_PATH}: no IMDSv2 token (${why}) and IMDSv1 fallback is disabled`,
      });
    }
    if (this.#mode !== "v1") {
      this.#o.logger.warn("IMDSv2 token unavailable, using IMDSv1", {
        reason: why,
        retryV2InSeconds: V2_RETRY_MS / 1000,
      });
    } else {
      this.#o.logger.debug("IMDSv2 still unavailable, staying on IMDSv1", { reason: why });
    }
    this.#mode = "v1";
    this.#token = undefined;
    this.#nextV2AttemptAt = this.#o.now().getTime() + V2_RETRY_MS;
    return null;
  }

  async #obtain(signal: AbortSignal | undefined): Promise<string | null> {
    const old = this.#token;
    const requestedAt = this.#o.now().getTime();
    let res: ImdsResponse;
    try {
      res = await this.#o.request(this.#o.tokenUrl, TOKEN_PATH, {
        method: "PUT",
        headers: this.#ttlHeaders,
        signal,
      });
    } catch (err) {
      if (!(err instanceof ImdsError) || err.kind === "aborted") throw err;
      // Not "IMDSv2 is off" but something answering in IMDS's place: say so on every request
      // rather than quietly switching to IMDSv1.
      if (err.kind === "redirect" || err.kind === "too_large") throw err;
      // A refresh that fails transiently must not drop a token that still works.
      if (old && this.#o.now().getTime() < old.expiresAt) {
        this.#o.logger.debug("IMDSv2 token refresh failed, keeping the current token", {
          error: err,
        });
        return old.value;
      }
      return this.#fallBack({ cause: err });
    }
    const value = res.body.trim();
    if (res.status === 200 && value !== "" && !TOKEN_SHAPE.test(value)) {
      throw new ImdsError("token", TOKEN_PATH, {
        message: `IMDS ${TOKEN_PATH}: the token is not printable ASCII; not used`,
      });
    }
    if (res.status === 200 && value !== "") {
      if (this.#mode === "v1") this.#o.logger.info("IMDSv2 available again, using session tokens");
      else if (this.#mode === "unknown") this.#o.logger.debug("using IMDSv2 session tokens");
      this.#mode = "v2";
      const ttlMs = this.#o.ttlSeconds * 1000;
      this.#token = {
        value,
        refreshAt: requestedAt + ttlMs * REFRESH_FRACTION,
        expiresAt: requestedAt + ttlMs,
      };
      return value;
    }
    if (FALLBACK_STATUSES.has(res.status)) return this.#fallBack({ status: res.status });
    if (old && this.#o.now().getTime() < old.expiresAt) return old.value;
    throw new ImdsError(res.status === 200 ? "token" : "http", TOKEN_PATH, {
      status: res.status,
    });
  }
}
