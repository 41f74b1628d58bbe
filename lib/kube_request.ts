/**
 * One request to the Kubernetes API server as a plain `fetch`: the connection's TLS client and
 * bearer token (re-read as projected tokens rotate), JSON in and out with bounded bodies,
 * redirects refused, and every failure as a {@linkcode KubeError} whose message names the request.
 *
 * @module
 */

import type { Clock } from "./_async.ts";
import { readBounded } from "./body.ts";
import { HTTP_REASONS, KubeError } from "./kube_errors.ts";
import type { KubeTarget } from "./kubeconfig.ts";

// A Node object carries its image list and conditions; 1 MiB holds the largest seen (~200 KiB
// with hundreds of images) with room, and bounds what a hostile server can make us buffer.
const MAX_OBJECT_BYTES = 1 << 20;
// Error Status bodies are a sentence or two; anything longer is cut for the message.
const MAX_ERROR_BYTES = 16 << 10;
// Projected service-account tokens rotate (the kubelet refreshes the file); re-read at most
// this often, as client-go does.
const TOKEN_TTL_MS = 60_000;

async function statusText(response: Response): Promise<string> {
  const text = await readBounded(response, MAX_ERROR_BYTES, { truncate: true }).catch(() => "");
  try {
    const status = JSON.parse(text) as { message?: unknown };
    if (typeof status.message === "string") return status.message;
  } catch {
    // Not a Status object (a proxy's HTML page, say); a short piece of it is still a clue.
  }
  return text.trim().slice(0, 200);
}

function transportText(error: unknown): string {
  if (
    error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")
  ) {
    return "request timed out";
  }
  const e = error as Error;
  const cause = e?.cause instanceof Error ? ` (${e.cause.message})` : "";
  return `${e?.message ?? String(error)}${cause}`;
}

/** One API server connection's settings, defaults filled in. */
export interface Connection {
  target: KubeTarget;
  fetch: typeof fetch;
  timeoutMs: number;
  /** Carries the cluster CA and the client certificate, when the kubeconfig has them. */
  client?: Deno.HttpClient;
  /** The bearer token to send, if any. */
  bearer: () => Promise<string | undefined>;
}

/** An HTTP client trusting the cluster's CA and presenting its client certificate, if any. */
function tlsClient(target: KubeTarget): Deno.HttpClient | undefined {
  if (!target.caPem && !target.certPem) return undefined;
  return Deno.createHttpClient({
    ...(target.caPem ? { caCerts: [target.caPem] } : {}),
    ...(target.certPem && target.keyPem ? { cert: target.certPem, key: target.keyPem } : {}),
  });
}

/**
 * The bearer token: the kubeconfig's own, or the token file's, read again once it is older than
 * `TOKEN_TTL_MS` (projected service-account tokens are rotated on disk).
 */
function bearerToken(
  target: KubeTarget,
  readText: (path: string) => Promise<string>,
  now: Clock,
): () => Promise<string | undefined> {
  let token: { value: string; at: number } | undefined;
  return async () => {
    if (target.token) return target.token;
    if (!target.tokenFile) return undefined;
    if (!token || now().getTime() - token.at > TOKEN_TTL_MS) {
      try {
        token = { value: (await readText(target.tokenFile)).trim(), at: now().getTime() };
      } catch (error) {
        throw new KubeError(
          `token file ${target.tokenFile} cannot be read (${(error as Error).name})`,
          { kind: "config" },
        );
      }
    }
    return token.value;
  };
}

/** What {@linkcode openConnection} needs: the target, and the side effects tests replace. */
export interface ConnectionOptions {
  target: KubeTarget;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Defaults to `Deno.readTextFile`. */
  readText?: (path: string) => Promise<string>;
  /** Per-request limit; default 10 s. */
  timeoutMs?: number;
  /** Wall clock, for the token cache. */
  now?: Clock;
}

/**
 * The connection to a resolved target, defaults filled in: its TLS client and bearer token.
 *
 * @example
 * ```ts
 * const conn = openConnection({ target: { server: "http://127.0.0.1:8001", source: "test" } });
 * await call(conn, "get node a", "GET", "/api/v1/nodes/a");
 * ```
 */
export function openConnection(options: ConnectionOptions): Connection {
  const { target } = options;
  return {
    target,
    fetch: options.fetch ?? fetch,
    timeoutMs: options.timeoutMs ?? 10_000,
    client: tlsClient(target),
    bearer: bearerToken(
      target,
      options.readText ?? Deno.readTextFile,
      options.now ?? (() => new Date()),
    ),
  };
}

/**
 * One API request: JSON in and out, the answer bounded by `maxBytes` (default 1 MiB, one object),
 * redirects refused; failures as `KubeError` whose message starts with `what`.
 *
 * @example
 * ```ts
 * declare const conn: Connection;
 * const node = await call(conn, "get node a", "GET", "/api/v1/nodes/a");
 * ```
 */
export async function call(
  conn: Connection,
  what: string,
  method: string,
  path: string,
  body?: { type: string; value: unknown },
  maxBytes: number = MAX_OBJECT_BYTES,
): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  const auth = await conn.bearer();
  if (auth) headers.authorization = `Bearer ${auth}`;
  if (body) headers["content-type"] = body.type;
  let response: Response;
  try {
    response = await conn.fetch(`${conn.target.server}${path}`, {
      method,
      headers,
      body: body ? JSON.stringify(body.value) : undefined,
      redirect: "manual",
      signal: AbortSignal.timeout(conn.timeoutMs),
      ...(conn.client ? { client: conn.client } : {}),
    } as RequestInit);
  } catch (error) {
    throw new KubeError(`${what}: ${transportText(error)}`, { cause: error });
  }
  if (!response.ok) {
    const message = await statusText(response);
    const head = `${response.status} ${HTTP_REASONS[response.status] ?? "Error"}`;
    throw new KubeError(`${what}: ${message ? `${head}: ${message}` : head}`, {
      status: response.status,
    });
  }
  try {
    return JSON.parse(await readBounded(response, maxBytes));
  } catch (error) {
    throw new KubeError(`${what}: unreadable answer (${(error as Error).message})`, {
      cause: error,
    });
  }
}
