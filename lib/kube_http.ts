// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * The few Kubernetes requests the handler needs before and at the start of a notice, as plain
 * `fetch` calls: read the node, merge-patch it (cordon, taint, annotation), read a pod, and ask
 * SelfSubjectAccessReview. They need no client library, so the preflight runs every few minutes
 * and the cordon goes out at once without paying the lazy import of `@kubernetes/client-node`
 * (0.4–0.9 s, +83 MiB; docs/design.md), which stays for the drain.
 *
 * @module
 */

import type { Clock } from "./_async.ts";
import { readBounded } from "./body.ts";
import type { NodeInfo, NodePatch, PodInfo, PodRef } from "./kube.ts";
import { nodePatchBody, toNodeInfo, toPodInfo } from "./kube_objects.ts";
import { HTTP_REASONS, KubeError } from "./kube_errors.ts";
import {
  type KubeTarget,
  parseKubeconfigText,
  resolveInCluster,
  resolveKubeconfig,
  UnsupportedKubeconfigError,
} from "./kubeconfig.ts";

/** One RBAC question: may the handler `verb` the `resource`? */
export interface AccessCheck {
  verb: string;
  resource: string;
  subresource?: string;
  /** API group; `""` for the core group. */
  group?: string;
  namespace?: string;
}

/** The answer of a SelfSubjectAccessReview. */
export interface AccessAnswer {
  allowed: boolean;
  /** The authorizer's reason, when it gave one. */
  reason?: string;
}

/**
 * The SelfSubjectAccessReview object for one question; both clients send this.
 *
 * @example
 * ```ts
 * accessReviewBody({ verb: "create", resource: "pods", subresource: "eviction" });
 * ```
 */
export function accessReviewBody(check: AccessCheck): {
  apiVersion: string;
  kind: string;
  spec: { resourceAttributes: Record<string, string> };
} {
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: {
      resourceAttributes: {
        verb: check.verb,
        resource: check.resource,
        group: check.group ?? "",
        ...(check.subresource ? { subresource: check.subresource } : {}),
        ...(check.namespace ? { namespace: check.namespace } : {}),
      },
    },
  };
}

/** Node reads and writes, pod reads and RBAC questions: what must work before a notice. */
export interface KubeCore {
  getNode(name: string): Promise<NodeInfo>;
  patchNode(name: string, patch: NodePatch): Promise<void>;
  /** `null` when the pod does not exist. */
  getPod(ref: PodRef): Promise<PodInfo | null>;
  canI(check: AccessCheck): Promise<AccessAnswer>;
}

/** Options of {@linkcode createKubeHttp}. */
export interface KubeHttpOptions {
  target: KubeTarget;
  /** Injected for tests; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  readText?: (path: string) => Promise<string>;
  /** Per-request limit; default 10 s. */
  timeoutMs?: number;
  /** Wall clock, for the token cache. */
  now?: Clock;
}

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
interface Connection {
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

/** One API request: JSON in and out, bounded, redirects refused; failures as `KubeError`. */
async function call(
  conn: Connection,
  what: string,
  method: string,
  path: string,
  body?: { type: string; value: unknown },
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
    return JSON.parse(await readBounded(response, MAX_OBJECT_BYTES));
  } catch (error) {
    throw new KubeError(`${what}: unreadable answer (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * Create the fetch-based client for a resolved target.
 *
 * @example
 * ```ts
 * import { createKubeHttp } from "./kube_http.ts";
 * const kube = createKubeHttp({ target: { server: "http://127.0.0.1:8001", source: "test" } });
 * const node = await kube.getNode("ip-10-0-0-1");
 * ```
 */
export function createKubeHttp(options: KubeHttpOptions): KubeCore {
  const { target } = options;
  const conn: Connection = {
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

  return {
    async getNode(name) {
      return toNodeInfo(
        await call(conn, `get node ${name}`, "GET", `/api/v1/nodes/${encodeURIComponent(name)}`),
      );
    },
    async patchNode(name, patch) {
      await call(conn, `patch node ${name}`, "PATCH", `/api/v1/nodes/${encodeURIComponent(name)}`, {
        type: "application/merge-patch+json",
        value: nodePatchBody(patch),
      });
    },
    async getPod(ref) {
      try {
        return toPodInfo(
          await call(
            conn,
            `get pod ${ref.namespace}/${ref.name}`,
            "GET",
            `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/pods/${
              encodeURIComponent(ref.name)
            }`,
          ),
        );
      } catch (error) {
        if (error instanceof KubeError && error.status === 404) return null;
        throw error;
      }
    },
    async canI(check) {
      const review = await call(
        conn,
        `access review ${check.verb} ${check.resource}`,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        { type: "application/json", value: accessReviewBody(check) },
      ) as { status?: { allowed?: unknown; reason?: unknown } };
      const status = review?.status ?? {};
      return {
        allowed: status.allowed === true,
        ...(typeof status.reason === "string" && status.reason ? { reason: status.reason } : {}),
      };
    },
  };
}

/** Options of {@linkcode connectKubeCore}. */
export interface ConnectOptions {
  /** `KUBECONFIG`; absent = in-cluster. */
  kubeconfigPath?: string;
  /** `KUBERNETES_SERVICE_HOST` and `_PORT`, for in-cluster. */
  serviceHost?: string;
  servicePort?: string;
  /** The full client, for kubeconfigs beyond the small reader (exec plugins, ...). */
  fallback: () => Promise<KubeCore>;
  readText?: (path: string) => Promise<string>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * The small client for this environment: from the kubeconfig when one is set (falling back to
 * the full client for what the small reader does not understand), else in-cluster. Rejects with
 * a {@linkcode KubeError} of kind `config` or `tls` that names the problem, never the contents.
 *
 * @example
 * ```ts
 * import { connectKubeCore, type KubeCore } from "./kube_http.ts";
 * declare const fullClient: () => Promise<KubeCore>;
 *
 * const core = await connectKubeCore({ kubeconfigPath: "/tmp/kubeconfig", fallback: fullClient });
 * ```
 */
export async function connectKubeCore(options: ConnectOptions): Promise<KubeCore> {
  const readText = options.readText ?? Deno.readTextFile;
  const make = (target: KubeTarget) =>
    createKubeHttp({ target, readText, fetch: options.fetch, timeoutMs: options.timeoutMs });
  if (!options.kubeconfigPath) {
    return make(
      await resolveInCluster({ host: options.serviceHost, port: options.servicePort }, {
        readText,
      }),
    );
  }
  const path = options.kubeconfigPath;
  let text: string;
  try {
    text = await readText(path);
  } catch (error) {
    throw new KubeError(`kubeconfig ${path} cannot be read (${(error as Error).name})`, {
      kind: "config",
    });
  }
  try {
    return make(await resolveKubeconfig(parseKubeconfigText(text), { path, readText }));
  } catch (error) {
    if (error instanceof UnsupportedKubeconfigError) return await options.fallback();
    if (error instanceof KubeError && error.kind === "config") {
      throw new KubeError(`kubeconfig ${path}: ${error.message}`, { kind: "config" });
    }
    throw error;
  }
}
