/**
 * A small EC2 instance metadata (IMDS) client over plain `fetch`: IMDSv2 session tokens with
 * caching and refresh, optional IMDSv1 fallback, and a total time limit and a byte limit on every
 * request, so an unreachable, slow or hostile IMDS never hangs the poll loop or grows the
 * process. IMDS never redirects: a 3xx is an error, and the token never leaves for another host.
 * The AWS SDK is not used here: it would cost idle memory for four GET requests.
 *
 * @module
 */

import type { Clock } from "./_async.ts";
import {
  ImdsError,
  type ImdsRequestInit,
  type ImdsResponse,
  request,
  type Transport,
} from "./imds_http.ts";
import { TOKEN_PATH, TokenSession } from "./imds_token.ts";
import type { Logger } from "./log.ts";
import { redactUrl, redactUserInfo } from "./redact.ts";

/** Who this instance is; used in every message and to find the region for AWS calls. */
export interface Identity {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string;
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

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
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
  const send = (url: string, path: string, init: ImdsRequestInit) =>
    request(transport, url, path, init);
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
