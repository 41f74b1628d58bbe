/**
 * Detach this instance from its Auto Scaling group so the group starts a replacement at once
 * instead of after the spot instance is gone. The AWS SDK costs ~30 MiB (docs/design.md), so it is
 * imported on the first detach, never at start-up.
 *
 * @module
 */

import { cached } from "./_async.ts";
import { classify, redact } from "./asg_errors.ts";
import { boundedFetch, MAX_AWS_BODY_BYTES } from "./asg_fetch.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import type { AsgResult, AsgStatus } from "./report.ts";

/**
 * Detaches one instance; every failure becomes an {@linkcode AsgResult}, never an exception.
 *
 * @example
 * ```ts
 * declare const asg: AsgDetacher;
 *
 * const { status, group } = await asg.detach("i-0123456789abcdef0", { dryRun: true });
 * // status "dry-run": DescribeAutoScalingInstances only, group names what would be left
 * ```
 */
export interface AsgDetacher {
  detach(
    instanceId: string,
    options?: { signal?: AbortSignal; dryRun?: boolean },
  ): Promise<AsgResult>;
}

/** Static credentials, for tests; production uses the SDK's default chain (IRSA, Pod Identity). */
export interface AsgCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@linkcode createAsgDetacher}. */
export interface AsgDetacherOptions {
  region: string;
  /** Endpoint override (`AWS_ENDPOINT_URL_AUTO_SCALING`), e.g. a local fake. */
  endpoint?: string;
  logger: Logger;
  metrics?: Metrics;
  credentials?: AsgCredentials;
  /** Attempts per AWS call, including the first; the SDK's default is 3. */
  maxAttempts?: number;
}

type AutoScalingSdk = typeof import("@aws-sdk/client-auto-scaling");
type AutoScalingClient = InstanceType<AutoScalingSdk["AutoScalingClient"]>;

interface Sdk {
  sdk: AutoScalingSdk;
  client: AutoScalingClient;
}

/** Per-request bound so a hung endpoint cannot outlive the notice; the caller's signal cuts sooner. */
const REQUEST_TIMEOUT_MS = 10_000;

// Detaching an instance in these states either already happened or cannot work any more.
const LEAVING_STATES = /^(Detaching|Detached|Terminating.*|Terminated)$/;

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** A result plus the lifecycle state seen, which goes to the log line but not to the caller. */
interface Outcome {
  result: AsgResult;
  state?: string;
}

const LOG_LINES: Record<AsgStatus, string> = {
  "detached": "detached instance from its Auto Scaling group (desired capacity kept)",
  "not-in-group": "instance is in no Auto Scaling group; nothing to detach",
  "already-detaching": "instance is already leaving its Auto Scaling group",
  "dry-run": "dry run: would detach instance from its Auto Scaling group",
  "throttled": "Auto Scaling detach gave up: throttled",
  "access-denied": "Auto Scaling detach not permitted",
  "failed": "Auto Scaling detach failed",
};

function failed(message: string): Outcome {
  return { result: { status: "failed", message } };
}

/** Refuse settings the SDK would only reject (or misuse) at the first detach. */
function checkOptions({ region, endpoint, maxAttempts }: AsgDetacherOptions): void {
  if (!/^[a-z0-9-]+$/.test(region)) {
    throw new TypeError(`AWS region "${region}" is not a region name such as eu-west-1`);
  }
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new TypeError(
      `AWS_ENDPOINT_URL_AUTO_SCALING "${endpoint}" is not an http:// or https:// URL`,
    );
  }
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new TypeError(`maxAttempts must be an integer of at least 1, got ${maxAttempts}`);
  }
}

/** The two packages a detach needs; the runtime keeps a module once imported. */
function importSdk() {
  return Promise.all([
    import("@aws-sdk/client-auto-scaling"),
    import("@smithy/fetch-http-handler"),
  ]);
}

/**
 * Import the AWS SDK now, ahead of a likely detach: its import holds the event loop for
 * 0.1–0.3 s, which at a spot notice would delay the cordon by as much. Called at a rebalance
 * recommendation, when DETACH_ASG is on.
 *
 * @example
 * ```ts
 * await preloadAsgSdk(); // a later createAsgDetacher(...).detach() finds the SDK loaded
 * ```
 */
export async function preloadAsgSdk(): Promise<void> {
  await importSdk();
}

/** The SDK and its client, imported on the first call; a failed import is tried again. */
function sdkLoader(options: AsgDetacherOptions): () => Promise<Sdk> {
  const { region, endpoint, credentials, maxAttempts } = options;
  return cached(async (): Promise<Sdk> => {
    const [sdk, { FetchHttpHandler }] = await importSdk();
    const client = new sdk.AutoScalingClient({
      region,
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(credentials === undefined ? {} : { credentials }),
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      requestHandler: new FetchHttpHandler({
        requestTimeout: REQUEST_TIMEOUT_MS,
        customFetch: boundedFetch(MAX_AWS_BODY_BYTES),
      }),
    });
    return { sdk, client };
  });
}

/** Count and log the outcome; its result is what the handler reports. */
function report(
  { logger, metrics }: AsgDetacherOptions,
  instanceId: string,
  { result, state }: Outcome,
): AsgResult {
  metrics?.inc("sth_asg_detach_total", { outcome: result.status });
  const fields = { instance: instanceId, group: result.group, state };
  const line = LOG_LINES[result.status];
  const detail = result.message === undefined ? {} : { reason: result.message };
  if (result.status === "access-denied" || result.status === "failed") {
    logger.error(line, { ...fields, ...detail });
  } else if (result.status === "throttled") {
    logger.warn(line, { ...fields, ...detail });
  } else {
    logger.info(line, fields);
  }
  return result;
}

/** The instance's group and lifecycle state, or the outcome that ends the detach here. */
async function findGroup(
  sdk: Sdk,
  instanceId: string,
  send: { abortSignal?: AbortSignal },
): Promise<{ group: string; state?: string } | Outcome> {
  let group: string | undefined;
  let state: string | undefined;
  try {
    const out = await sdk.client.send(
      new sdk.sdk.DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
      send,
    );
    const found = out.AutoScalingInstances?.find((i) => i.InstanceId === instanceId);
    if (!found) return { result: { status: "not-in-group" } };
    group = found.AutoScalingGroupName;
    state = found.LifecycleState;
  } catch (error) {
    return { result: classify(error, { action: "DescribeAutoScalingInstances" }) };
  }
  if (group === undefined) {
    return failed("DescribeAutoScalingInstances answered without AutoScalingGroupName");
  }
  return { group, state };
}

/** Validate, load the SDK, find the group, detach (or say what a dry run would do). */
async function attempt(
  load: () => Promise<Sdk>,
  instanceId: string,
  { signal, dryRun = false }: { signal?: AbortSignal; dryRun?: boolean },
): Promise<Outcome> {
  if (!INSTANCE_ID.test(instanceId)) {
    return failed(`instance id "${instanceId}" is not an EC2 instance id (i-...)`);
  }
  if (signal?.aborted) return failed("DescribeAutoScalingInstances aborted (AbortError)");
  let sdk: Sdk;
  try {
    sdk = await load();
  } catch (error) {
    return failed(`loading the AWS SDK failed: ${redact(String(error))}`);
  }
  const send = { abortSignal: signal };
  const found = await findGroup(sdk, instanceId, send);
  if ("result" in found) return found;
  const { group, state } = found;
  if (state !== undefined && LEAVING_STATES.test(state)) {
    const message = `lifecycle state is ${state}`;
    return { result: { status: "already-detaching", group, message }, state };
  }
  if (dryRun) {
    const message = `would detach from ${group} (lifecycle state ${state ?? "unknown"})`;
    return { result: { status: "dry-run", group, message }, state };
  }
  try {
    await sdk.client.send(
      new sdk.sdk.DetachInstancesCommand({
        AutoScalingGroupName: group,
        InstanceIds: [instanceId],
        // The group must replace the reclaimed capacity, so keep its desired count.
        ShouldDecrementDesiredCapacity: false,
      }),
      send,
    );
  } catch (error) {
    return { result: classify(error, { action: "DetachInstances", group }), state };
  }
  return { result: { status: "detached", group }, state };
}

/**
 * Create a detacher. The SDK client is built on the first {@linkcode AsgDetacher.detach} and
 * reused. It uses `fetch` (FetchHttpHandler), not `node:https`, which in Deno can need sys access
 * "ca" that cannot be granted narrowly. The SDK's default credential chain hands that same
 * handler to the STS client behind IRSA (through `parentClientConfig`); EKS Pod Identity and
 * IMDS credentials are fetched over plain HTTP, which needs no CA store.
 *
 * @throws {TypeError} when `region` is not a region name, `endpoint` is not an http(s) URL or
 * `maxAttempts` is below 1.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * declare const signal: AbortSignal;
 *
 * const asg = createAsgDetacher({ region: "eu-west-1", logger: createLogger() });
 * const result = await asg.detach("i-0123456789abcdef0", { signal });
 * // { status: "detached", group: "spot-workers" }
 * ```
 */
export function createAsgDetacher(options: AsgDetacherOptions): AsgDetacher {
  checkOptions(options);
  const load = sdkLoader(options);
  return {
    async detach(instanceId, detachOptions = {}) {
      const id = String(instanceId);
      let outcome: Outcome;
      try {
        outcome = await attempt(load, id, detachOptions);
      } catch (error) {
        // Last resort: a bug here must not break the drain running beside it.
        outcome = failed(`unexpected error: ${redact(String(error))}`);
      }
      return report(options, id, outcome);
    },
  };
}
