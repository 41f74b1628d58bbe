// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * A small EC2 instance metadata (IMDS) client over plain `fetch`: IMDSv2 session tokens with
 * caching and refresh, optional IMDSv1 fallback, and a total time limit and a byte limit on every
 * request, so an unreachable, slow or hostile IMDS never hangs the poll loop or grows the
 * process. IMDS never redirects: a 3xx is an error, and the token never leaves for another host.
 * The AWS SDK is not used here: it would cost idle memory for four GET requests.
 *
 * @module
 */

import { type Clock, raceAbort, timeoutSignal } from "./_async.ts";
import { BodyTooLargeError, readBounded } from "./body.ts";
import type { Logger } from "./log.ts";
import { redactUrl, redactUserInfo } from "./redact.ts";

/** An IMDS answer the caller has to interpret: 200 (found) or 404 (nothing there). */
export interface ImdsResponse {
  status: number;
  body: string;
}

/** Who this instance is; used in every message and to find the region for AWS calls. */
export interface Identity {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string;
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

// Error texts from fetch may quote the URL, and an operator's URL may carry user-info.
function describeCause(cause: unknown): string {
  if (cause instanceof Error) return redactUserInfo(cause.message);
  return cause === undefined ? "" : redactUserInfo(String(cause));
}

/**
 * An IMDS request that did not produce a 200 or 404. The message names the path; tokens never
 * appear in it.
 *
 * @example
 * ```ts
 * declare const imds: Imds;
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

/** The client every other module uses; see {@linkcode createImds}. */
export interface Imds {
  /**
   * GET `<endpoint>/latest/<path>` (or an absolute http(s) URL, used for the old `NOTICE_URL`).
   * Resolves for 200 and 404; rejects with {@linkcode ImdsError} otherwise.
   */
  get(path: string, options?: { signal?: AbortSignal }): Promise<ImdsResponse>;
  /**
   * instance-id, instance-type, placement/availability-zone, placement/region (region derived
   * from the AZ if that path 404s); cached after the first success.
   */
  identity(options?: { signal?: AbortSignal }): Promise<Identity>;
}

/** Options of {@linkcode createImds}. */
export interface ImdsOptions {
  /** Base URL, e.g. `http://169.254.169.254` (`AWS_EC2_METADATA_SERVICE_ENDPOINT`). */
  endpoint: string;
  fetch?: typeof fetch;
  /** Clock for token expiry. */
  now?: Clock;
  /** Per request, token PUT included, body read included. Default 2000. */
  timeoutMs?: number;
  /** Asked for in the token PUT, 1..21600. Default 21600. */
  tokenTtlSeconds?: number;
  /** Use IMDSv1 when no IMDSv2 token can be had. Default true (`AWS_EC2_METADATA_V1_DISABLED`). */
  v1Fallback?: boolean;
  logger?: Logger;
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

/** Header carrying the token on every request. */
export const TOKEN_HEADER = "X-aws-ec2-metadata-token";
/** Header of the token PUT asking for a lifetime in seconds. */
export const TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds";
/** How long IMDSv1 mode lasts before IMDSv2 is tried again. */
export const V2_RETRY_MS = 5 * 60_000;

const TOKEN_PATH = "api/token";
// Refreshing before expiry means a request never carries a token that dies in flight.
const REFRESH_FRACTION = 0.8;
// IMDS answers these when IMDSv2 is off or the PUT is blocked (e.g. by a proxy).
const FALLBACK_STATUSES = new Set([403, 404, 405]);

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
// A token goes into a header: anything but visible ASCII would be refused by fetch, or worse.
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
// Resolved paths are cached; the handler asks about a dozen distinct ones.
const MAX_CACHED_PATHS = 64;

/**
 * The region of an availability zone, also for Local Zones (`us-west-2-lax-1a`) and Wavelength
 * zones (`us-east-1-wl1-bos-wlz-1`).
 *
 * @example
 * ```ts
 * regionFromAvailabilityZone("us-east-1a"); // "us-east-1"
 * regionFromAvailabilityZone("us-west-2-lax-1a"); // "us-west-2"
 * ```
 */
export function regionFromAvailabilityZone(zone: string): string {
  const match = /^([a-z]{2}(?:-[a-z]+)+-\d+)(?:[a-z]|-)/.exec(zone);
  if (match) return match[1];
  return zone.replace(/[a-z]$/, "");
}

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

interface CachedToken {
  value: string;
  refreshAt: number;
  expiresAt: number;
}

function waitOrAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, path: string) {
  return signal ? raceAbort(promise, signal, () => new ImdsError("aborted", path)) : promise;
}

/** The endpoint URL and the base that paths are appended to; refuses what cannot be one. */
function parseEndpoint(endpoint: string): { url: URL; base: string } {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(
      `IMDS endpoint is not a URL: ${JSON.stringify(redactUserInfo(endpoint))}`,
    );
  }
  if (url.search || url.hash || endpoint.includes("?")) {
    // `<endpoint>/latest/<path>` is built by appending: a query or fragment would swallow it.
    throw new TypeError(
      `IMDS endpoint must not have a query or fragment: ${redactUrl(url.href)}`,
    );
  }
  return { url, base: url.href.replace(/\/+$/, "") };
}

/** How one client reaches IMDS. */
interface Transport {
  fetch: typeof fetch;
  timeoutMs: number;
}

/**
 * One bounded IMDS request: the timeout covers the body read too, redirects are refused, the
 * body is capped; every failure is an {@linkcode ImdsError} of its kind.
 */
async function request(
  transport: Transport,
  url: string,
  path: string,
  init: { method?: string; headers: Record<string, string>; signal?: AbortSignal },
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

/** What a {@linkcode TokenSession} needs from its client. */
interface TokenSessionOptions {
  request: (
    url: string,
    path: string,
    init: { method?: string; headers: Record<string, string>; signal?: AbortSignal },
  ) => Promise<ImdsResponse>;
  tokenUrl: string;
  ttlSeconds: number;
  v1Fallback: boolean;
  logger: Logger;
  now: Clock;
}

/**
 * The IMDSv2 session: one token shared by every request, refreshed before it expires, one PUT
 * at a time; IMDSv1 (no token) when IMDSv2 is off, tried again every {@linkcode V2_RETRY_MS}.
 */
class TokenSession {
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

/** Where a path is asked, the label errors and logs use, and whether the token may go there. */
interface ResolvedPath {
  url: string;
  label: string;
  sendToken: boolean;
}

/** Resolve a path (relative to `latest/`, or an absolute URL), cached per client. */
function resolvePath(
  endpoint: { url: URL; base: string },
  resolved: Map<string, ResolvedPath>,
  path: string,
): ResolvedPath {
  const cached = resolved.get(path);
  if (cached) return cached;
  let entry: ResolvedPath;
  if (/^https?:\/\//i.test(path)) {
    const url = new URL(path);
    // The token is a credential: only ever send it to the IMDS endpoint itself. The label
    // appears in errors and logs, so without the URL's user-info.
    entry = {
      url: url.href,
      label: redactUrl(path),
      sendToken: url.origin === endpoint.url.origin,
    };
  } else {
    const relative = path.replace(/^\/+/, "");
    entry = { url: `${endpoint.base}/latest/${relative}`, label: relative, sendToken: true };
  }
  if (resolved.size < MAX_CACHED_PATHS) resolved.set(path, entry);
  return entry;
}

/** The four identity answers, read at once; the region from the AZ when that path 404s. */
async function readIdentity(
  get: Imds["get"],
  idOptions: { signal?: AbortSignal },
): Promise<Identity> {
  const paths = [
    "meta-data/instance-id",
    "meta-data/instance-type",
    "meta-data/placement/availability-zone",
    "meta-data/placement/region",
  ];
  const answers = await Promise.all(paths.map((p) => get(p, idOptions)));
  const values = answers.map((res, i) => {
    const value = res.status === 200 ? res.body.trim() : "";
    if (value === "" && i < 3) {
      if (res.status !== 200) throw new ImdsError("http", paths[i], { status: res.status });
      throw new TypeError(`IMDS ${paths[i]}: empty answer`);
    }
    return value;
  });
  return {
    instanceId: values[0],
    instanceType: values[1],
    availabilityZone: values[2],
    region: values[3] || regionFromAvailabilityZone(values[2]),
  };
}

/**
 * Create an IMDS client. Nothing is requested until the first call.
 *
 * @example
 * ```ts
 * const imds = createImds({ endpoint: "http://169.254.169.254", v1Fallback: false });
 * const { status, body } = await imds.get("meta-data/spot/instance-action");
 * if (status === 200) console.log(JSON.parse(body).action);
 * const { instanceId, region } = await imds.identity();
 * ```
 */
export function createImds(options: ImdsOptions): Imds {
  const endpoint = parseEndpoint(options.endpoint);
  const ttlSeconds = options.tokenTtlSeconds ?? 21600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 21600) {
    throw new RangeError(`IMDS tokenTtlSeconds must be 1..21600, got ${ttlSeconds}`);
  }
  const transport: Transport = {
    fetch: options.fetch ?? fetch,
    timeoutMs: options.timeoutMs ?? 2000,
  };
  const send = (
    url: string,
    path: string,
    init: { method?: string; headers: Record<string, string>; signal?: AbortSignal },
  ) => request(transport, url, path, init);
  const session = new TokenSession({
    request: send,
    tokenUrl: `${endpoint.base}/latest/${TOKEN_PATH}`,
    ttlSeconds,
    v1Fallback: options.v1Fallback ?? true,
    logger: options.logger ?? silentLogger,
    now: options.now ?? (() => new Date()),
  });
  const resolved = new Map<string, ResolvedPath>();
  let identityCache: Identity | undefined;

  async function get(
    path: string,
    getOptions: { signal?: AbortSignal } = {},
  ): Promise<ImdsResponse> {
    const { signal } = getOptions;
    const { url, label, sendToken } = resolvePath(endpoint, resolved, path);
    if (signal?.aborted) throw new ImdsError("aborted", label);
    const ask = async (value: string | null) =>
      await send(url, label, { headers: session.headersFor(value), signal });
    let sent = sendToken ? await session.current(signal, false) : null;
    let res = await ask(sent);
    if (res.status === 401 && sendToken) {
      // Expired or revoked token, or IMDSv2 became required while we were on IMDSv1. When a
      // concurrent request has already replaced the token, its replacement is used as is.
      if (sent) session.forget(sent);
      sent = await session.current(signal, sent === null);
      if (sent) res = await ask(sent);
    }
    if (res.status === 200 || res.status === 404) return res;
    throw new ImdsError("http", label, { status: res.status });
  }

  return {
    get,
    async identity(idOptions = {}) {
      identityCache ??= await readIdentity(get, idOptions);
      return identityCache;
    },
  };
}
