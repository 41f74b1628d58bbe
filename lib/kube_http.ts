/**
 * The few Kubernetes requests the handler needs before and at the start of a notice, as plain
 * `fetch` calls: read the node, merge-patch it (cordon, taint, annotation), read a pod, and ask
 * SelfSubjectAccessReview. They need no client library, so the preflight runs every few minutes
 * and the cordon goes out at once without paying the lazy import of `@kubernetes/client-node`
 * (0.4–0.9 s, +83 MiB; docs/design.md), which stays for the drain.
 *
 * @module
 */

import type { NodeInfo, NodePatch, PodInfo, PodRef } from "./kube.ts";
import { nodePatchBody, toNodeInfo, toPodInfo } from "./kube_objects.ts";
import { KubeError } from "./kube_errors.ts";
import { type KubeTarget, resolveInCluster, resolveKubeconfig } from "./kubeconfig.ts";
import { parseKubeconfigText, UnsupportedKubeconfigError } from "./kubeconfig_yaml.ts";
import { call, type ConnectionOptions, openConnection } from "./kube_request.ts";

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
export function createKubeHttp(options: KubeHttpOptions): KubeCore {
  const conn = openConnection(options);
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
