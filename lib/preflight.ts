// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * The start-up check, repeated every few minutes: can the handler do its job when a notice comes?
 * A misconfiguration (no RBAC for evictions, a kubeconfig the client refuses, IMDSv2 behind a hop
 * limit of 1, no AWS credentials) must show the day it is deployed — as a log line that names the
 * fix, a metric, and `/readyz` 503 so `kubectl rollout status` stops — not two minutes before an
 * instance goes away. The checks use the small fetch-based client (kube_http.ts) in-cluster, so
 * running them does not load `@kubernetes/client-node` into an idle handler.
 *
 * @module
 */

import type { Identity, Imds } from "./imds.ts";
import { kubeErrorKind, kubeFix } from "./kube_errors.ts";
import type { AccessCheck, KubeCore } from "./kube_http.ts";
import type { PodRef } from "./kube.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

/** The checks, in the order they run and are printed. */
export type CheckName = "kubernetes-api" | "node" | "rbac" | "imds" | "aws-credentials";

/** One check's outcome. */
export interface CheckResult {
  name: CheckName;
  ok: boolean;
  /** What was found: "ok ..." or the exact problem. */
  detail: string;
  /** What to change, when it failed. */
  fix?: string;
}

/** The AWS variables the credential check looks at; passed in because only config reads env. */
export interface AwsCredentialEnv {
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_WEB_IDENTITY_TOKEN_FILE?: string;
  AWS_ROLE_ARN?: string;
  AWS_CONTAINER_CREDENTIALS_FULL_URI?: string;
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI?: string;
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE?: string;
}

/** What the checks need; all injected. */
export interface PreflightDeps {
  kubeCore: () => Promise<KubeCore>;
  imds: Pick<Imds, "get" | "identity">;
  logger: Logger;
  metrics?: Metrics;
  /** Whether a file can be read (token files); injected for tests. */
  readable?: (path: string) => Promise<boolean>;
}

/** What to check. */
export interface PreflightOptions {
  nodeName?: string;
  ownPod?: PodRef;
  imdsV1Disabled: boolean;
  detachAsg: boolean;
  awsEnv: AwsCredentialEnv;
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

function failure(name: CheckName, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}

async function defaultReadable(path: string): Promise<boolean> {
  try {
    await Deno.readTextFile(path);
    return true;
  } catch {
    return false;
  }
}

/** The Kubernetes checks: API reachable with these credentials, the node, every verb. */
async function kubeChecks(deps: PreflightDeps, options: PreflightOptions): Promise<CheckResult[]> {
  const source = { kubeconfigPath: options.kubeconfigPath };
  const fromError = (name: CheckName, error: unknown, context = {}): CheckResult => {
    const kind = kubeErrorKind(error);
    return failure(
      name,
      `${(error as Error)?.message ?? error} (${kind})`,
      kubeFix(kind, { ...source, ...context }),
    );
  };
  let core: KubeCore;
  const access = requiredAccess({ nodeNameSet: options.nodeName !== undefined });
  const answers: boolean[] = [];
  try {
    core = await deps.kubeCore();
    // The first review proves that the API answers and accepts the credentials.
    answers.push((await core.canI(access[0])).allowed);
  } catch (error) {
    const api = fromError("kubernetes-api", error);
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
      results.push(fromError("node", error), fromError("rbac", error));
      return results;
    }
  }
  const missing = access.filter((_, i) => !answers[i]).map(accessName);

  let node: CheckResult;
  try {
    let name = options.nodeName;
    if (!name) {
      const pod = await core.getPod(options.ownPod!);
      name = pod?.nodeName;
      if (!name) {
        throw Object.assign(
          new Error(
            `pod ${options.ownPod!.namespace}/${options.ownPod!.name} not found or not scheduled`,
          ),
          { status: 404 },
        );
      }
    }
    await core.getNode(name);
    node = { name: "node", ok: true, detail: `node ${name} exists` };
  } catch (error) {
    node = fromError("node", error, { resource: options.nodeName ? "nodes" : "pods", verb: "get" });
    if (!options.nodeName && kubeErrorKind(error) === "not-found") {
      node.fix =
        "set NODE_NAME from the downward API (spec.nodeName), or POD_NAME/NAMESPACE to this pod's";
    }
  }
  results.push(node);
  results.push(
    missing.length === 0
      ? { name: "rbac", ok: true, detail: `granted: ${access.map(accessName).join(", ")}` }
      : failure(
        "rbac",
        `not granted: ${missing.join(", ")}`,
        `add ${
          missing.map((m) => `"${m}"`).join(", ")
        } to the ClusterRole bound to the handler's ServiceAccount (daemonset.yaml)`,
      ),
  );
  return results;
}

async function imdsCheck(
  deps: PreflightDeps,
  options: PreflightOptions,
): Promise<{ result: CheckResult; identity?: Identity }> {
  try {
    const identity = await deps.imds.identity();
    return {
      result: {
        name: "imds",
        ok: true,
        detail:
          `instance ${identity.instanceId} (${identity.instanceType}, ${identity.availabilityZone})`,
      },
      identity,
    };
  } catch (error) {
    const kind = (error as { kind?: string }).kind;
    const fix = kind === "token" && options.imdsV1Disabled
      ? "IMDSv2 token PUT got no answer: with hostNetwork off, raise the instance's metadata hop limit to 2 (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2) or run with hostNetwork: true"
      : "check AWS_EC2_METADATA_SERVICE_ENDPOINT and that the pod can reach the instance metadata service (hostNetwork, network policies)";
    return { result: failure("imds", (error as Error)?.message ?? String(error), fix) };
  }
}

async function awsCheck(deps: PreflightDeps, options: PreflightOptions): Promise<CheckResult> {
  const env = options.awsEnv;
  const readable = deps.readable ?? defaultReadable;
  const fix =
    "give the pod AWS credentials: IRSA (eks.amazonaws.com/role-arn on the ServiceAccount), EKS Pod Identity, or an instance profile; or unset DETACH_ASG";
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    return await readable(env.AWS_WEB_IDENTITY_TOKEN_FILE)
      ? { name: "aws-credentials", ok: true, detail: "IRSA web identity token file" }
      : failure(
        "aws-credentials",
        `AWS_WEB_IDENTITY_TOKEN_FILE ${env.AWS_WEB_IDENTITY_TOKEN_FILE} cannot be read`,
        fix,
      );
  }
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
    const file = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
    if (file && !await readable(file)) {
      return failure(
        "aws-credentials",
        `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${file} cannot be read`,
        fix,
      );
    }
    return {
      name: "aws-credentials",
      ok: true,
      detail: "EKS Pod Identity / container credentials",
    };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { name: "aws-credentials", ok: true, detail: "static keys (AWS_ACCESS_KEY_ID)" };
  }
  try {
    const roles = await deps.imds.get("meta-data/iam/security-credentials/");
    const role = roles.status === 200
      ? roles.body.split("\n").map((s) => s.trim()).find(Boolean)
      : undefined;
    if (role) return { name: "aws-credentials", ok: true, detail: `instance profile role ${role}` };
    return failure(
      "aws-credentials",
      "no IRSA, Pod Identity or static keys, and IMDS lists no instance profile role",
      fix,
    );
  } catch (error) {
    return failure(
      "aws-credentials",
      `no IRSA, Pod Identity or static keys, and IMDS could not be asked for an instance profile (${
        (error as Error)?.message
      })`,
      fix,
    );
  }
}

/** Runs the checks and remembers the last outcome. */
export interface Preflight {
  /** Run every check once; logs each line that changed since the last run. */
  run(): Promise<CheckResult[]>;
  /** `undefined` when every check passed last time (or none ran yet), else `"<check>: <detail>"`. */
  failing(): string | undefined;
  /** Rerun every `intervalMs` (faster while a check fails) until the signal aborts. */
  repeat(
    signal: AbortSignal,
    sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  ): Promise<void>;
}

/** Rerun every 5 minutes while all is well; every 30 s while something fails, so a fix shows soon. */
export const PREFLIGHT_INTERVAL_MS = 5 * 60_000;
export const PREFLIGHT_RETRY_MS = 30_000;

/**
 * Create the preflight.
 *
 * @example
 * ```ts
 * declare const deps: PreflightDeps, options: PreflightOptions;
 * const preflight = createPreflight(deps, options);
 * const results = await preflight.run();
 * if (results.some((r) => !r.ok)) console.log(preflight.failing());
 * ```
 */
export function createPreflight(deps: PreflightDeps, options: PreflightOptions): Preflight {
  let last: CheckResult[] | undefined;
  const seen = new Map<CheckName, string>();

  function report(results: CheckResult[]) {
    for (const r of results) {
      deps.metrics?.set("sth_preflight_check", r.ok ? 1 : 0, { check: r.name });
      const key = `${r.ok}|${r.detail}`;
      if (seen.get(r.name) === key) continue;
      seen.set(r.name, key);
      if (r.ok) deps.logger.info(`preflight ok: ${r.name}`, { detail: r.detail });
      else deps.logger.error(`preflight failed: ${r.name}`, { problem: r.detail, fix: r.fix });
    }
  }

  async function run(): Promise<CheckResult[]> {
    const [kube, imds] = await Promise.all([kubeChecks(deps, options), imdsCheck(deps, options)]);
    const results = [...kube, imds.result];
    if (options.detachAsg) results.push(await awsCheck(deps, options));
    report(results);
    last = results;
    return results;
  }

  return {
    run,
    failing() {
      const bad = last?.find((r) => !r.ok);
      return bad ? `${bad.name}: ${bad.detail}` : undefined;
    },
    async repeat(signal, sleep) {
      while (!signal.aborted) {
        await sleep(last?.every((r) => r.ok) ? PREFLIGHT_INTERVAL_MS : PREFLIGHT_RETRY_MS, signal);
        if (signal.aborted) return;
        await run().catch((error) =>
          deps.logger.warn("preflight could not run", { error: String(error) })
        );
      }
    },
  };
}
