/**
 * The handler's Kubernetes requests as plain `fetch` calls: read the node, merge-patch it (cordon,
 * taint, annotation), read a pod, ask SelfSubjectAccessReview, and the drain's listing, evictions
 * and Events (lib/kube_http_drain.ts). They need no client library, so the preflight runs every few
 * minutes, the cordon goes out at once and the drain starts without paying the import of
 * `@kubernetes/client-node` (0.4–0.9 s, +83 MiB; docs/design.md). That library is loaded only as
 * the fallback for kubeconfigs the small reader does not understand (exec plugins, ...).
 *
 * @module
 */

import type { Kube } from "./kube.ts";
import { nodePatchBody, toNodeInfo, toPodInfo } from "./kube_objects.ts";
import { KubeError } from "./kube_errors.ts";
import { type KubeTarget, resolveInCluster, resolveKubeconfig } from "./kubeconfig.ts";
import { parseKubeconfigText, UnsupportedKubeconfigError } from "./kubeconfig_yaml.ts";
import { call, type ConnectionOptions, openConnection } from "./kube_request.ts";
import { createNodeEvent, evictPod, listPodsOnNode, podPath } from "./kube_http_drain.ts";

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
export type KubeCore = Pick<Kube, "getNode" | "patchNode" | "getPod" | "canI">;

/** Options of {@linkcode createKubeHttp}: the connection's (target, fetch, timeout, clock). */
export type KubeHttpOptions = ConnectionOptions;

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
export function createKubeHttp(options: KubeHttpOptions): Kube {
  const conn = openConnection(options);
  return {
    listPodsOnNode: (node) => listPodsOnNode(conn, node),
    evictPod: (ref, evictOptions) => evictPod(conn, ref, evictOptions),
    createNodeEvent: (node, event) => createNodeEvent(conn, node, event),
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
            podPath(ref),
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

/** Options of {@linkcode connectKube}. */
export interface ConnectOptions {
  /** `KUBECONFIG`; absent = in-cluster. */
  kubeconfigPath?: string;
  /** `KUBERNETES_SERVICE_HOST` and `_PORT`, for in-cluster. */
  serviceHost?: string;
  servicePort?: string;
  /** The full client, for kubeconfigs beyond the small reader (exec plugins, ...). */
  fallback: () => Promise<Kube>;
  readText?: (path: string) => Promise<string>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * The Kubernetes client for this environment: the fetch-based one from the kubeconfig when one is set (falling back to
 * the full client for what the small reader does not understand), else in-cluster. Rejects with
 * a {@linkcode KubeError} of kind `config` or `tls` that names the problem, never the contents.
 *
 * @example
 * ```ts
 * import { connectKube } from "./kube_http.ts";
 * import type { Kube } from "./kube.ts";
 * declare const fullClient: () => Promise<Kube>;
 *
 * const kube = await connectKube({ kubeconfigPath: "/tmp/kubeconfig", fallback: fullClient });
 * ```
 */
export async function connectKube(options: ConnectOptions): Promise<Kube> {
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
