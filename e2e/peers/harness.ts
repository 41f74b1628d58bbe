/**
 * What the end-to-end scenarios share: bounded waits, the handler's JSON log lines (the handler
 * itself runs through tools/handler_process.ts), the RBAC objects of the manifest with a real
 * ServiceAccount token, and an Auto Scaling group in moto.
 *
 * @module
 */

import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import { parseAllDocuments } from "../../dev_deps.ts";
import type { HandlerProcess } from "../../tools/handler_process.ts";
import { waitFor } from "../../tools/wait.ts";
import type { KubeApi } from "../../tools/peers/kube_api.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Fake credentials: moto accepts any, and nothing here may reach AWS. */
export const FAKE_AWS_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: "AKIAE2EPEERSFAKE0000",
  AWS_SECRET_ACCESS_KEY: "e2e-peers-fake-secret",
  AWS_REGION: "us-east-1",
};

// Re-exported: the scenarios and their helpers import every shared wait from here.
export { waitFor };

/** One line the handler printed (LOG_FORMAT=json), with `raw` for non-JSON lines. */
export interface LogLine {
  msg?: string;
  level?: string;
  raw: string;
  [field: string]: unknown;
}

/**
 * A handler line as JSON (`LOG_FORMAT=json`); a line that is not JSON (a crash, say) is kept as
 * `raw` alone.
 *
 * @example
 * ```ts
 * logLine('{"msg":"draining node","level":"info"}').msg; // "draining node"
 * logLine("Segmentation fault").raw; // "Segmentation fault"
 * ```
 */
export function logLine(raw: string): LogLine {
  try {
    const parsed = JSON.parse(raw);
    if (parsed && typeof parsed === "object") return { ...parsed, raw };
  } catch {
    // Not JSON: kept as raw text.
  }
  return { raw };
}

/**
 * The first line of `handler` (past or future) that `match` accepts, parsed; rejects when the
 * handler exits without one or after `timeoutMs`, naming `what`.
 *
 * @example
 * ```ts
 * const handler = spawnHandler({ kubeconfig, env, logPath: "/tmp/handler.log" });
 * await waitForLog(handler, (l) => l.msg === "node cordoned and tainted", "cordon", 30_000);
 * ```
 */
export async function waitForLog(
  handler: HandlerProcess,
  match: (line: LogLine) => boolean,
  what: string,
  timeoutMs: number,
): Promise<LogLine> {
  return logLine(await handler.waitForLine((raw) => match(logLine(raw)), timeoutMs, what));
}

/**
 * One sample of a Prometheus text exposition (labels ignored, samples summed), `undefined` when
 * absent.
 *
 * @example
 * ```ts
 * await readMetric("http://127.0.0.1:9092/metrics", "sth_imds_polls_total"); // 12
 * ```
 */
export async function readMetric(url: string, name: string): Promise<number | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  let total: number | undefined;
  for (const line of text.split("\n")) {
    const match = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/);
    if (match?.[1] === name) total = (total ?? 0) + Number(match[3]);
  }
  return total;
}

/** Where the handler's RBAC came from and who it is. */
export interface HandlerIdentity {
  /** The manifest applied. */
  source: string;
  namespace: string;
  serviceAccount: string;
  /** The ClusterRole objects applied, for inspection. */
  clusterRoles: Record<string, unknown>[];
}

/**
 * The deployment manifest whose ServiceAccount and RBAC objects the suite applies, so the
 * handler runs with exactly the rights the shipped manifest grants.
 */
export const MANIFEST_PATH = `${REPO_ROOT}/daemonset.yaml`;

type Obj = Record<string, unknown> & {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
};

/**
 * Apply the Namespace, ServiceAccount and RBAC objects of `manifestPath` as the admin.
 *
 * @example
 * ```ts
 * const who = await applyRbac(peers.admin, MANIFEST_PATH);
 * const token = await serviceAccountToken(peers.admin, who.namespace, {
 *   serviceAccount: who.serviceAccount,
 * });
 * ```
 */
export async function applyRbac(admin: KubeApi, manifestPath: string): Promise<HandlerIdentity> {
  const docs = parseAllDocuments(await Deno.readTextFile(manifestPath))
    .map((d) => d.toJSON() as Obj | null)
    .filter((d): d is Obj => !!d && typeof d === "object");
  const rbac = "/apis/rbac.authorization.k8s.io/v1";
  const paths: Record<string, (ns: string) => string> = {
    Namespace: () => "/api/v1/namespaces",
    ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
    ClusterRole: () => `${rbac}/clusterroles`,
    ClusterRoleBinding: () => `${rbac}/clusterrolebindings`,
    Role: (ns) => `${rbac}/namespaces/${ns}/roles`,
    RoleBinding: (ns) => `${rbac}/namespaces/${ns}/rolebindings`,
  };
  const order = Object.keys(paths);
  const wanted = docs
    .filter((d) => d.kind && d.kind in paths)
    .sort((a, b) => order.indexOf(a.kind!) - order.indexOf(b.kind!));
  const sa = wanted.find((d) => d.kind === "ServiceAccount");
  if (!sa?.metadata?.name) throw new Error(`${manifestPath}: no ServiceAccount`);
  const namespace = sa.metadata.namespace ?? "default";
  if (!wanted.some((d) => d.kind === "ClusterRole" || d.kind === "Role")) {
    throw new Error(`${manifestPath}: no ClusterRole or Role`);
  }
  for (const doc of wanted) {
    const ns = doc.metadata?.namespace ?? "default";
    await admin.ensure(paths[doc.kind!](ns), doc);
  }
  return {
    source: manifestPath,
    namespace,
    serviceAccount: sa.metadata.name,
    clusterRoles: wanted.filter((d) => d.kind === "ClusterRole"),
  };
}

/**
 * A short-lived token of a ServiceAccount through the TokenRequest API (what
 * `kubectl create token` does).
 *
 * @example
 * ```ts
 * const token = await serviceAccountToken(admin, "kube-system", "spot-termination-handler");
 * ```
 */
export async function serviceAccountToken(
  admin: KubeApi,
  namespace: string,
  options: { serviceAccount: string; expirationSeconds?: number },
): Promise<string> {
  const path = `/api/v1/namespaces/${namespace}/serviceaccounts/${options.serviceAccount}/token`;
  const res = await admin.create<{ status?: { token?: string } }>(path, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: options.expirationSeconds ?? 3600 },
  });
  if (!res.status?.token) throw new Error(`${path}: no token in the TokenRequest answer`);
  return res.status.token;
}

/**
 * Ask the API server whether the ServiceAccount may do something (SubjectAccessReview).
 *
 * @example
 * ```ts
 * await canI(admin, who, { verb: "delete", resource: "pods", namespace: "default" }); // false
 * ```
 */
export async function canI(
  admin: KubeApi,
  who: HandlerIdentity,
  attributes: { verb: string; resource: string; subresource?: string; namespace?: string },
): Promise<boolean> {
  const res = await admin.create<{ status?: { allowed?: boolean } }>(
    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: `system:serviceaccount:${who.namespace}:${who.serviceAccount}`,
        groups: [
          "system:serviceaccounts",
          `system:serviceaccounts:${who.namespace}`,
          "system:authenticated",
        ],
        resourceAttributes: attributes,
      },
    },
  );
  return res.status?.allowed === true;
}

/** Auto Scaling in moto, as the scenarios use it. */
export interface AutoScaling {
  /** Create a launch configuration and a group of `desired` instances; resolves with their ids. */
  createGroup(name: string, desired: number): Promise<string[]>;
  /** The group an instance belongs to, or `undefined` when it is in none. */
  groupOf(instanceId: string): Promise<string | undefined>;
  desiredCapacity(group: string): Promise<number | undefined>;
  close(): void;
}

/**
 * An Auto Scaling client for moto at `endpoint`, with fake credentials.
 *
 * @example
 * ```ts
 * const asg = createAutoScaling(peers.motoUrl);
 * const [instanceId] = await asg.createGroup("e2e-spot", 2);
 * asg.close();
 * ```
 */
export function createAutoScaling(endpoint: string): AutoScaling {
  const client = new AutoScalingClient({
    endpoint,
    region: FAKE_AWS_ENV.AWS_REGION,
    credentials: {
      accessKeyId: FAKE_AWS_ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: FAKE_AWS_ENV.AWS_SECRET_ACCESS_KEY,
    },
    requestHandler: new FetchHttpHandler(),
    maxAttempts: 1,
  });
  return {
    async createGroup(name, desired) {
      await client.send(
        new CreateLaunchConfigurationCommand({
          LaunchConfigurationName: `${name}-lc`,
          ImageId: "ami-12c6146b",
          InstanceType: "m4.xlarge",
        }),
      );
      await client.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: name,
          LaunchConfigurationName: `${name}-lc`,
          MinSize: 0,
          MaxSize: desired + 2,
          DesiredCapacity: desired,
          AvailabilityZones: ["us-east-1a"],
        }),
      );
      const out = await client.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
      );
      const ids = (out.AutoScalingGroups?.[0]?.Instances ?? []).map((i) => i.InstanceId!);
      if (ids.length !== desired) {
        throw new Error(`moto group ${name}: ${ids.length} instances, wanted ${desired}`);
      }
      return ids;
    },
    async groupOf(instanceId) {
      const out = await client.send(
        new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
      );
      return out.AutoScalingInstances?.[0]?.AutoScalingGroupName;
    },
    async desiredCapacity(group) {
      const out = await client.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
      );
      return out.AutoScalingGroups?.[0]?.DesiredCapacity;
    },
    close() {
      client.destroy();
    },
  };
}
