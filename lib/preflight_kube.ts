/**
 * The preflight's Kubernetes checks, in the order they run: the API answers and accepts the
 * credentials, every verb the handler uses is granted (SelfSubjectAccessReview), and the node
 * exists. A failure names the fix (kube_errors.ts).
 *
 * @module
 */

import { kubeErrorKind, kubeFix } from "./kube_errors.ts";
import type { AccessCheck, KubeCore } from "./kube_http.ts";
import type { PodRef } from "./kube.ts";
import { type CheckName, type CheckResult, failure } from "./preflight_result.ts";

/** What the Kubernetes checks look at. */
export interface KubeCheckOptions {
  nodeName?: string;
  ownPod?: PodRef;
  kubeconfigPath?: string;
}

/** The verbs the handler uses, as SelfSubjectAccessReview questions. */
export function requiredAccess(options: { nodeNameSet: boolean }): AccessCheck[] {
  const checks: AccessCheck[] = [
    { verb: "get", resource: "nodes" },
    { verb: "patch", resource: "nodes" },
    { verb: "list", resource: "pods" },
    { verb: "create", resource: "pods", subresource: "eviction" },
    { verb: "create", resource: "events" },
  ];
  if (!options.nodeNameSet) checks.splice(2, 0, { verb: "get", resource: "pods" });
  return checks;
}

function accessName(check: AccessCheck): string {
  return `${check.verb} ${check.resource}${check.subresource ? `/${check.subresource}` : ""}`;
}

function fromError(
  name: CheckName,
  error: unknown,
  options: KubeCheckOptions,
  context = {},
): CheckResult {
  const kind = kubeErrorKind(error);
  return failure(
    name,
    `${(error as Error)?.message ?? error} (${kind})`,
    kubeFix(kind, { kubeconfigPath: options.kubeconfigPath, ...context }),
  );
}

/** The node this pod runs on: `NODE_NAME`, or the own pod's `spec.nodeName`. */
async function nodeName(core: KubeCore, options: KubeCheckOptions): Promise<string> {
  if (options.nodeName) return options.nodeName;
  const pod = await core.getPod(options.ownPod!);
  if (pod?.nodeName) return pod.nodeName;
  throw Object.assign(
    new Error(
      `pod ${options.ownPod!.namespace}/${options.ownPod!.name} not found or not scheduled`,
    ),
    { status: 404 },
  );
}

async function nodeCheck(core: KubeCore, options: KubeCheckOptions): Promise<CheckResult> {
  try {
    const name = await nodeName(core, options);
    await core.getNode(name);
    return { name: "node", ok: true, detail: `node ${name} exists` };
  } catch (error) {
    const node = fromError("node", error, options, {
      resource: options.nodeName ? "nodes" : "pods",
      verb: "get",
    });
    if (!options.nodeName && kubeErrorKind(error) === "not-found") {
      node.fix =
        "set NODE_NAME from the downward API (spec.nodeName), or POD_NAME/NAMESPACE to this pod's";
    }
    return node;
  }
}

function rbacResult(access: AccessCheck[], answers: boolean[]): CheckResult {
  const missing = access.filter((_, i) => !answers[i]).map(accessName);
  if (missing.length === 0) {
    return { name: "rbac", ok: true, detail: `granted: ${access.map(accessName).join(", ")}` };
  }
  return failure(
    "rbac",
    `not granted: ${missing.join(", ")}`,
    `add ${
      missing.map((m) => `"${m}"`).join(", ")
    } to the ClusterRole bound to the handler's ServiceAccount (daemonset.yaml)`,
  );
}

/**
 * The Kubernetes checks: API reachable with these credentials, the node, every verb. When the API
 * is not usable, the node and RBAC checks say they were not checked.
 *
 * @example
 * ```ts
 * declare const kubeCore: () => Promise<import("./kube_http.ts").KubeCore>;
 * const [api, node, rbac] = await kubeChecks(kubeCore, { nodeName: "ip-10-0-0-1" });
 * ```
 */
export async function kubeChecks(
  kubeCore: () => Promise<KubeCore>,
  options: KubeCheckOptions,
): Promise<CheckResult[]> {
  const access = requiredAccess({ nodeNameSet: options.nodeName !== undefined });
  const answers: boolean[] = [];
  let core: KubeCore;
  try {
    core = await kubeCore();
    // The first review proves that the API answers and accepts the credentials.
    answers.push((await core.canI(access[0])).allowed);
  } catch (error) {
    const api = fromError("kubernetes-api", error, options);
    const skipped = (name: CheckName) =>
      failure(name, "not checked: the API is not usable", api.fix!);
    return [api, skipped("node"), skipped("rbac")];
  }
  const results: CheckResult[] = [{
    name: "kubernetes-api",
    ok: true,
    detail: "the API server answers and accepts the credentials",
  }];
  for (const check of access.slice(1)) {
    try {
      answers.push((await core.canI(check)).allowed);
    } catch (error) {
      results.push(fromError("node", error, options), fromError("rbac", error, options));
      return results;
    }
  }
  results.push(await nodeCheck(core, options), rbacResult(access, answers));
  return results;
}
