/**
 * The {@linkcode Kube} adapter over `@kubernetes/client-node`, used by the drain. The package is
 * imported when {@linkcode createKube} runs, not at module load: loading it costs ~0.6 s and
 * ~90 MiB (docs/design.md), which an idle handler should not pay until the first notice.
 *
 * @module
 */

import type {
  AuthorizationV1Api,
  ConfigurationOptions,
  CoreV1Api,
  ObservableMiddleware,
} from "@kubernetes/client-node";
import type { Logger } from "./log.ts";
import { type AccessAnswer, type AccessCheck, accessReviewBody } from "./kube_http.ts";
import { KubeError } from "./kube_errors.ts";
import type {
  EvictionOutcome,
  Kube,
  NodeEvent,
  NodeInfo,
  NodePatch,
  PodInfo,
  PodRef,
} from "./kube.ts";
import { nodePatchBody, toNodeInfo, toPodInfo } from "./kube_objects.ts";
import { evictionBody, nodeEventBody, refusedEviction } from "./kube_requests.ts";
import { configErrorText, describeError, isApiException, kubeError } from "./kube_client_errors.ts";

/** Options of {@linkcode createKube}. */
export interface KubeOptions {
  /** A kubeconfig file (local runs); absent = the in-cluster service account. */
  kubeconfigPath?: string;
  logger: Logger;
  /** Per-request limit so a hung API server cannot hold the drain past its deadline; default 10 s. */
  requestTimeoutMs?: number;
  /** Reported as the event source; defaults to `spot-termination-handler`. */
  component?: string;
}

type ClientNode = typeof import("@kubernetes/client-node");

/** What every call shares: the two API clients, the request options, the event source. */
interface Client {
  core: CoreV1Api;
  authz: AuthorizationV1Api;
  /** Every request's options: a fresh timeout per request. */
  withTimeout: ConfigurationOptions<ObservableMiddleware>;
  /** The same, sent as a JSON merge patch. */
  mergePatch: ConfigurationOptions<ObservableMiddleware>;
  component: string;
}

/**
 * Create the real adapter. `@kubernetes/client-node` is imported here, not at module load.
 * With `kubeconfigPath` the file's current context is used (a plain-http server needs
 * `insecure-skip-tls-verify: true` there); without it, the in-cluster service account.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const logger = createLogger();
 * const kube = await createKube({ kubeconfigPath: "/tmp/kubeconfig", logger });
 * await kube.patchNode("ip-10-0-0-1", { unschedulable: true });
 * ```
 */
export async function createKube(options: KubeOptions): Promise<Kube> {
  const k8s = await import("@kubernetes/client-node");
  const kc = loadConfig(k8s, options.kubeconfigPath);
  const client = connect(k8s, kc, options);
  return {
    getNode: (name) => getNode(client, name),
    patchNode: (name, patch) => patchNode(client, name, patch),
    getPod: (ref) => getPod(client, ref),
    listPodsOnNode: (node) => listPodsOnNode(client, node),
    evictPod: (ref, evictOptions) => evictPod(client, ref, evictOptions),
    createNodeEvent: (node, event) => createNodeEvent(client, node, event),
    canI: (check) => canI(client, check),
  };
}

/** The kubeconfig file, or the in-cluster service account; a `config` KubeError when neither loads. */
function loadConfig(k8s: ClientNode, kubeconfigPath: string | undefined) {
  const kc = new k8s.KubeConfig();
  try {
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else kc.loadFromCluster();
  } catch (error) {
    const source = kubeconfigPath ?? "the in-cluster service account";
    throw new KubeError(`load Kubernetes config from ${source}: ${configErrorText(error)}`, {
      kind: "config",
    });
  }
  return kc;
}

/** The API clients of the loaded config, with a time limit on every request. */
function connect(
  k8s: ClientNode,
  kc: InstanceType<ClientNode["KubeConfig"]>,
  options: KubeOptions,
): Client {
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const server = kc.getCurrentCluster()?.server ?? "";
  options.logger.debug("kubernetes client ready", {
    server,
    source: options.kubeconfigPath ?? "in-cluster",
  });

  // A fresh signal per request: middleware runs for each call, so each gets its own timer.
  const timeout: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      return new k8s.Observable(Promise.resolve(ctx));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  const withTimeout: ConfigurationOptions<ObservableMiddleware> = {
    middleware: [timeout],
    middlewareMergeStrategy: "append",
  };
  const mergePatch = k8s.setHeaderOptions(
    "Content-Type",
    k8s.PatchStrategy.MergePatch,
    withTimeout,
  );
  const component = options.component ?? "spot-termination-handler";
  return { core, authz, withTimeout, mergePatch, component };
}

async function getNode(client: Client, name: string): Promise<NodeInfo> {
  try {
    return toNodeInfo(await client.core.readNode({ name }, client.withTimeout));
  } catch (error) {
    throw kubeError(`get node ${name}`, error);
  }
}

async function patchNode(client: Client, name: string, patch: NodePatch): Promise<void> {
  try {
    await client.core.patchNode({ name, body: nodePatchBody(patch) }, client.mergePatch);
  } catch (error) {
    throw kubeError(`patch node ${name}`, error);
  }
}

async function getPod(client: Client, ref: PodRef): Promise<PodInfo | null> {
  try {
    return toPodInfo(
      await client.core.readNamespacedPod(
        { name: ref.name, namespace: ref.namespace },
        client.withTimeout,
      ),
    );
  } catch (error) {
    if (isApiException(error) && error.code === 404) return null;
    throw kubeError(`get pod ${ref.namespace}/${ref.name}`, error);
  }
}

async function listPodsOnNode(client: Client, node: string): Promise<PodInfo[]> {
  try {
    const list = await client.core.listPodForAllNamespaces(
      { fieldSelector: `spec.nodeName=${node}` },
      client.withTimeout,
    );
    return (list.items ?? []).map(toPodInfo);
  } catch (error) {
    throw kubeError(`list pods on node ${node}`, error);
  }
}

async function evictPod(
  client: Client,
  ref: PodRef,
  evictOptions: { gracePeriodSeconds?: number } = {},
): Promise<EvictionOutcome> {
  const body = evictionBody(ref, evictOptions.gracePeriodSeconds);
  try {
    await client.core.createNamespacedPodEviction(
      { name: ref.name, namespace: ref.namespace, body },
      client.withTimeout,
    );
    return { status: "evicted" };
  } catch (error) {
    const { status, text } = describeError(error);
    return refusedEviction(ref, status, text);
  }
}

async function createNodeEvent(client: Client, node: string, event: NodeEvent): Promise<void> {
  const body = nodeEventBody(node, event, client.component, new Date());
  try {
    await client.core.createNamespacedEvent({ namespace: "default", body }, client.withTimeout);
  } catch (error) {
    throw kubeError(`create event ${event.reason} for node ${node}`, error);
  }
}

async function canI(client: Client, check: AccessCheck): Promise<AccessAnswer> {
  try {
    const review = await client.authz.createSelfSubjectAccessReview({
      body: accessReviewBody(check),
    }, client.withTimeout);
    const reason = review.status?.reason;
    return { allowed: review.status?.allowed === true, ...(reason ? { reason } : {}) };
  } catch (error) {
    throw kubeError(`access review ${check.verb} ${check.resource}`, error);
  }
}
