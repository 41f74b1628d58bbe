/**
 * What a failed Kubernetes call means for the two-minute window. A permanent error (401, 403, a
 * missing node, a kubeconfig or TLS problem) will fail the same way until someone changes the
 * cluster or the manifest, so retrying it until the deadline only hides it; a transient one
 * (refused, reset, timeout, 5xx, 429) may pass on the next try. Both adapters (the lazily loaded
 * client and the small fetch-based one) throw {@linkcode KubeError} with a kind from here, so the
 * handler, the drain and the preflight decide the same way and name the same fix.
 *
 * @module
 */

/** Why a Kubernetes call failed. */
export type KubeErrorKind =
  /** 401: the credentials were refused. */
  | "unauthorized"
  /** 403: RBAC does not grant the verb. */
  | "forbidden"
  /** 404 for the object itself (a node that does not exist). */
  | "not-found"
  /** The kubeconfig or in-cluster files are missing, unreadable or malformed. */
  | "config"
  /** The server's certificate is not trusted, or plain HTTP without opting in. */
  | "tls"
  /** 400/422 and other answers that no retry can change. */
  | "invalid"
  /** Refused, reset, timed out, 5xx, 429, 409: worth another try. */
  | "transient";

/** Reason phrases for the statuses the API server answers with, for messages. */
export const HTTP_REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** The kinds that no retry fixes. */
export const PERMANENT_KINDS: ReadonlySet<KubeErrorKind> = new Set([
  "unauthorized",
  "forbidden",
  "not-found",
  "config",
  "tls",
  "invalid",
]);

/**
 * A failed Kubernetes call. The message names the verb and the object, e.g.
 * `patch node ip-10-0-0-1: 403 Forbidden: nodes "ip-10-0-0-1" is forbidden: ...`.
 *
 * @example
 * ```ts
 * import { KubeError } from "./kube_errors.ts";
 * const error = new KubeError("get node n1: 404 Not Found", { status: 404 });
 * error.kind; // "not-found"
 * ```
 */
export class KubeError extends Error {
  /** HTTP status; absent when the API server was not reached. */
  status?: number;
  /** What the failure means; see {@linkcode KubeErrorKind}. */
  kind: KubeErrorKind;
  constructor(
    message: string,
    options: { status?: number; cause?: unknown; kind?: KubeErrorKind } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "KubeError";
    this.status = options.status;
    this.kind = options.kind ?? kindOfStatus(options.status, message);
  }
}

// Transport errors whose text says the TLS handshake or the scheme was refused; seen from Deno's
// fetch ("invalid peer certificate: UnknownIssuer") and from @kubernetes/client-node ("HTTP
// protocol is not allowed when skipTLSVerify is not set").
const TLS_TEXT =
  /certificate|UnknownIssuer|self[- ]signed|unable to verify|HTTP protocol is not allowed|tls handshake|NotValidForName|invalid peer/i;

/**
 * The kind of a failure from its HTTP status, or from a transport error's text when the server
 * answered nothing.
 *
 * @example
 * ```ts
 * import { kindOfStatus } from "./kube_errors.ts";
 * kindOfStatus(403); // "forbidden"
 * kindOfStatus(undefined, "Connection refused (os error 111)"); // "transient"
 * ```
 */
export function kindOfStatus(status: number | undefined, text = ""): KubeErrorKind {
  if (status === undefined || status === 0) return TLS_TEXT.test(text) ? "tls" : "transient";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not-found";
  if (status === 400 || status === 422 || status === 405 || status === 415) return "invalid";
  return "transient";
}

/**
 * The kind of any error a Kubernetes call rejected with: a {@linkcode KubeError}'s own, else
 * from its `status` or text.
 *
 * @example
 * ```ts
 * import { kubeErrorKind } from "./kube_errors.ts";
 * kubeErrorKind(new TypeError("error sending request: Connection refused")); // "transient"
 * ```
 */
export function kubeErrorKind(error: unknown): KubeErrorKind {
  if (error instanceof KubeError) return error.kind;
  const status = (error as { status?: unknown })?.status;
  const text = error instanceof Error ? error.message : String(error);
  return kindOfStatus(typeof status === "number" ? status : undefined, text);
}

/**
 * True when retrying cannot help.
 *
 * @example
 * ```ts
 * import { isPermanentKubeError, KubeError } from "./kube_errors.ts";
 * isPermanentKubeError(new KubeError("x", { status: 401 })); // true
 * ```
 */
export function isPermanentKubeError(error: unknown): boolean {
  return PERMANENT_KINDS.has(kubeErrorKind(error));
}

/** What an operator should do about a permanent failure of `verb` on `resource`. */
export interface KubeFixContext {
  verb?: string;
  resource?: string;
  /** The kubeconfig in use; absent in-cluster. */
  kubeconfigPath?: string;
}

/**
 * One sentence that names the fix, for the `error` line and the result message.
 *
 * @example
 * ```ts
 * import { kubeFix } from "./kube_errors.ts";
 * kubeFix("forbidden", { verb: "patch", resource: "nodes" });
 * // "grant verb \"patch\" on \"nodes\" to the handler's ServiceAccount (ClusterRole in daemonset.yaml)"
 * ```
 */
export function kubeFix(kind: KubeErrorKind, context: KubeFixContext = {}): string {
  const source = context.kubeconfigPath
    ? `the kubeconfig ${context.kubeconfigPath}`
    : "the in-cluster service account (automountServiceAccountToken, KUBERNETES_SERVICE_HOST)";
  switch (kind) {
    case "forbidden":
      return context.verb && context.resource
        ? `grant verb "${context.verb}" on "${context.resource}" to the handler's ServiceAccount (ClusterRole in daemonset.yaml)`
        : "grant the handler's ServiceAccount the ClusterRole in daemonset.yaml";
    case "unauthorized":
      return `the API server refused the credentials of ${source}: check its token or client certificate`;
    case "not-found":
      return context.resource === "nodes"
        ? "the node does not exist: set NODE_NAME from the downward API (spec.nodeName)"
        : "the object does not exist";
    case "config":
      return `fix ${source}`;
    case "tls":
      return context.kubeconfigPath
        ? `the server's certificate is not trusted or the server is plain http: set certificate-authority(-data) in ${context.kubeconfigPath}, or insecure-skip-tls-verify: true for a local plain-http server`
        : "the API server's certificate is not signed by the service account's ca.crt";
    case "invalid":
      return "the API server rejected the request; check the API server version";
    case "transient":
      return "retrying; check that the API server is reachable from the node";
  }
}

// Both clients start their messages with the request, e.g. "patch node n1: 403 Forbidden".
const REQUESTS: Array<[RegExp, KubeFixContext]> = [
  [/^get node /, { verb: "get", resource: "nodes" }],
  [/^patch node /, { verb: "patch", resource: "nodes" }],
  [/^get pod /, { verb: "get", resource: "pods" }],
  [/^list pods /, { verb: "list", resource: "pods" }],
  [/^evict pod /, { verb: "create", resource: "pods/eviction" }],
  [/^create event /, { verb: "create", resource: "events" }],
];

/**
 * The verb and resource a failed request needed, read from its message; `undefined` when the
 * message does not say.
 *
 * @example
 * ```ts
 * import { requestOf } from "./kube_errors.ts";
 * requestOf("get node n1: 403 Forbidden"); // { verb: "get", resource: "nodes" }
 * ```
 */
export function requestOf(message: string): KubeFixContext | undefined {
  return REQUESTS.find(([pattern]) => pattern.test(message))?.[1];
}
