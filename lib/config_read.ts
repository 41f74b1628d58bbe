/**
 * The steps of lib/config.ts's `loadConfig`, one per group of variables, in the order it runs
 * them (and so lists their problems): each reads {@linkcode Reading.env}, returns the group's
 * typed values (undefined where a value is invalid) and adds one `VAR: ...` line per problem to
 * `errors`, or to `warnings` for what does not stop start-up.
 *
 * @module
 */

import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { notifierWarnings, validateNotifierEnv } from "./notify_env.ts";
import { NOTIFIER_VARIABLES } from "./notify_targets.ts";
import { ACTION_RULES, ACTIONS, type Actions } from "./policy.ts";
import { DEFAULT_MAINTENANCE_LEAD_MS } from "./maintenance.ts";
import type { IdentityUrls } from "./identity_urls.ts";
import { loadTemplateFile } from "./webhook_template.ts";
import {
  parseAddress,
  parseBool,
  parseChoice,
  parseDuration,
  parseName,
  parseNumber,
  parseUrl,
} from "./config_values.ts";

/** What every step reads, and the problems it adds to. */
export interface Reading {
  /** The set variables: empty strings count as unset. */
  env: Record<string, string>;
  /** One `VAR: ...` line per problem that stops start-up. */
  errors: string[];
  /** Problems that do not (deprecated or ignored variables, surprising values). */
  warnings: string[];
  /** Reads `WEBHOOK_TEMPLATE_FILE`. */
  readFile: (path: string) => Uint8Array;
  /** Why a path cannot be read as a file, or undefined when it can; absent: not checked. */
  readable?: (path: string) => string | undefined;
}

/** `POLL_INTERVAL` (seconds, as milliseconds) and `GRACE_PERIOD`. */
export function readTiming({ env, errors }: Reading): {
  pollIntervalMs: number | undefined;
  gracePeriodSeconds: number | undefined;
} {
  const pollSeconds = env.POLL_INTERVAL === undefined
    ? 1
    : parseNumber("POLL_INTERVAL", env.POLL_INTERVAL, { min: 0.1, max: 300 }, errors);
  const grace = env.GRACE_PERIOD === undefined
    ? undefined
    : parseNumber("GRACE_PERIOD", env.GRACE_PERIOD, { min: 0, max: 3600, integer: true }, errors);
  const pollIntervalMs = pollSeconds === undefined ? undefined : Math.round(pollSeconds * 1000);
  return { pollIntervalMs, gracePeriodSeconds: grace };
}

/** `METRICS_PORT` and `METRICS_ADDRESS`: where /healthz, /readyz and /metrics listen. */
export function readListener({ env, errors }: Reading): {
  metricsPort: number | undefined;
  metricsAddress: string | undefined;
} {
  const metricsPort = env.METRICS_PORT === undefined
    ? 9092
    : parseNumber("METRICS_PORT", env.METRICS_PORT, { min: 0, max: 65535, integer: true }, errors);
  const metricsAddress = env.METRICS_ADDRESS === undefined
    ? "127.0.0.1"
    : parseAddress("METRICS_ADDRESS", env.METRICS_ADDRESS, errors);
  return { metricsPort, metricsAddress };
}

const IDENTITY_URLS = [
  ["instanceId", "INSTANCE_ID_URL"],
  ["instanceType", "INSTANCE_TYPE_URL"],
  ["availabilityZone", "AZ_URL"],
] as const;

/** The URLs: IMDS, the old script's `NOTICE_URL` and identity URLs, the Auto Scaling API. */
export function readEndpoints({ env, errors }: Reading): {
  imdsEndpoint: string | undefined;
  noticeUrl: string | undefined;
  identityUrls: IdentityUrls;
  asgEndpoint: string | undefined;
} {
  const imdsEndpoint = parseUrl(
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? "http://169.254.169.254",
    errors,
  );
  const noticeUrl = env.NOTICE_URL === undefined
    ? undefined
    : parseUrl("NOTICE_URL", env.NOTICE_URL, errors, "full");
  const identityUrls: IdentityUrls = {};
  for (const [field, name] of IDENTITY_URLS) {
    if (env[name] !== undefined) identityUrls[field] = parseUrl(name, env[name], errors, "full");
  }
  const asgEndpoint = env.AWS_ENDPOINT_URL_AUTO_SCALING === undefined
    ? undefined
    : parseUrl("AWS_ENDPOINT_URL_AUTO_SCALING", env.AWS_ENDPOINT_URL_AUTO_SCALING, errors);
  return { imdsEndpoint, noticeUrl, identityUrls, asgEndpoint };
}

/** `LOG_FORMAT` and `LOG_LEVEL`, which the old script's `VERBOSE=1` turns to debug when unset. */
export function readLogging({ env, errors }: Reading): {
  logFormat: LogFormat | undefined;
  logLevel: LogLevel | undefined;
} {
  const logFormat = env.LOG_FORMAT === undefined
    ? "text"
    : parseChoice("LOG_FORMAT", env.LOG_FORMAT, LOG_FORMATS, errors);
  let logLevel = env.LOG_LEVEL === undefined
    ? "info"
    : parseChoice("LOG_LEVEL", env.LOG_LEVEL, LOG_LEVELS, errors);
  if (env.VERBOSE !== undefined) {
    // The old script logged every poll when VERBOSE=1; keep that meaning.
    if (parseBool("VERBOSE", env.VERBOSE, errors) && env.LOG_LEVEL === undefined) {
      logLevel = "debug";
    }
  }
  return { logFormat, logLevel };
}

/** What each kind of notice triggers, and when a maintenance event's cordon begins. */
export function readActions({ env, errors }: Reading): {
  actions: Actions;
  maintenanceLeadMs: number | undefined;
} {
  const actions = Object.fromEntries(ACTION_RULES.map((r) => [
    r.kind,
    env[r.variable] === undefined
      ? r.default
      : parseChoice(r.variable, env[r.variable], ACTIONS, errors),
  ])) as Actions;
  const maintenanceLeadMs = env.MAINTENANCE_LEAD === undefined
    ? DEFAULT_MAINTENANCE_LEAD_MS
    : parseDuration("MAINTENANCE_LEAD", env.MAINTENANCE_LEAD, errors);
  return { actions, maintenanceLeadMs };
}

// DETACH_ASG keeps the old script's rule ("anything but false"), so these turn detach ON although
// an operator writing them means "off".
const LOOKS_OFF = new Set([
  "0",
  "no",
  "n",
  "off",
  "f",
  "disable",
  "disabled",
  "none",
  "null",
  "nil",
]);

/** The on/off variables; `DETACH_ASG` keeps the old script's "anything but false". */
export function readSwitches({ env, errors, warnings }: Reading): {
  imdsV1Disabled: boolean;
  dryRun: boolean;
  excludeFromLoadBalancers: boolean;
  detachAsg: boolean;
} {
  const imdsV1Disabled = parseBool(
    "AWS_EC2_METADATA_V1_DISABLED",
    env.AWS_EC2_METADATA_V1_DISABLED,
    errors,
  );
  const dryRun = parseBool("DRY_RUN", env.DRY_RUN, errors);
  // On by default: a node about to go in two minutes should leave the load balancers' targets
  // now, not when its instance stops answering health checks (README, "Load balancers").
  const excludeFromLoadBalancers = env.EXCLUDE_FROM_LOAD_BALANCERS === undefined ||
    parseBool("EXCLUDE_FROM_LOAD_BALANCERS", env.EXCLUDE_FROM_LOAD_BALANCERS, errors);
  // Old-script compatibility: DETACH_ASG=true, =yes, =1 or even =my-asg all meant "on".
  const detachAsg = env.DETACH_ASG !== undefined && env.DETACH_ASG.trim().toLowerCase() !== "false";
  if (
    detachAsg &&
    (env.DETACH_ASG.trim() === "" || LOOKS_OFF.has(env.DETACH_ASG.trim().toLowerCase()))
  ) {
    warnings.push(
      `DETACH_ASG=${
        JSON.stringify(env.DETACH_ASG)
      } turns ASG detach ON: as in the old script, any value but "false" means on. To turn it off, set DETACH_ASG=false or remove it`,
    );
  }
  return { imdsV1Disabled, dryRun, excludeFromLoadBalancers, detachAsg };
}

/** `NODE_NAME`, `POD_NAME` and `NAMESPACE`, as Kubernetes object names. */
export function readNames({ env, errors }: Reading): {
  nodeName: string | undefined;
  podName: string | undefined;
  namespace: string | undefined;
} {
  const nodeName = env.NODE_NAME === undefined
    ? undefined
    : parseName("NODE_NAME", env.NODE_NAME, "subdomain", errors);
  const podName = env.POD_NAME === undefined
    ? undefined
    : parseName("POD_NAME", env.POD_NAME, "subdomain", errors);
  const namespace = env.NAMESPACE === undefined
    ? undefined
    : parseName("NAMESPACE", env.NAMESPACE, "label", errors);
  return { nodeName, podName, namespace };
}

/** `CLUSTER` (the label in messages) and `KUBECONFIG`, checked readable when `readable` is set. */
export function readCluster({ env, errors, readable }: Reading): {
  cluster: string | undefined;
  kubeconfigPath: string | undefined;
} {
  const cluster = env.CLUSTER?.trim();
  if (cluster !== undefined && (cluster === "" || /\p{Cc}/u.test(cluster))) {
    errors.push(
      `CLUSTER: must be non-blank text without control characters, got ${
        JSON.stringify(env.CLUSTER)
      }`,
    );
  }
  const kubeconfigPath = env.KUBECONFIG?.trim();
  if (kubeconfigPath !== undefined && readable) {
    const problem = kubeconfigPath === "" ? "blank" : readable(kubeconfigPath);
    if (problem) {
      errors.push(`KUBECONFIG: ${JSON.stringify(kubeconfigPath)} cannot be read: ${problem}`);
    }
  }
  return { cluster, kubeconfigPath };
}

/** How the node is found and the handler's own pod recognised: the variables that go together. */
export function checkNodeLookup({ env, errors, warnings }: Reading): void {
  if (env.NODE_NAME === undefined && (env.POD_NAME === undefined || env.NAMESPACE === undefined)) {
    errors.push(
      "NODE_NAME: required (set it from the downward API spec.nodeName), or set POD_NAME and NAMESPACE so the node can be looked up",
    );
  }
  if ((env.POD_NAME === undefined) !== (env.NAMESPACE === undefined)) {
    warnings.push(
      "POD_NAME and NAMESPACE go together: without both, the handler cannot recognise its own pod",
    );
  }
}

/** `AWS_REGION`, the Auto Scaling API's region (else the instance's, from IMDS). */
export function readRegion({ env, errors }: Reading): { awsRegion: string | undefined } {
  if (env.AWS_REGION !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(env.AWS_REGION)) {
    errors.push(
      `AWS_REGION: expected a region like us-east-1, got ${JSON.stringify(env.AWS_REGION)}`,
    );
  }
  return { awsRegion: env.AWS_REGION };
}

/**
 * The notifier variables that are set, passed on untouched, with `WEBHOOK_TEMPLATE_FILE` read
 * into `WEBHOOK_TEMPLATE`; validated by lib/notify_env.ts.
 */
export function readNotifiers({ env, errors, warnings, readFile }: Reading): {
  notifierEnv: Record<string, string>;
} {
  const notifierEnv: Record<string, string> = {};
  for (const v of NOTIFIER_VARIABLES) {
    if (env[v.name] !== undefined) notifierEnv[v.name] = env[v.name];
  }
  // The one file the configuration may name, read once here so a problem is a config error.
  if (env.WEBHOOK_TEMPLATE_FILE !== undefined) {
    const file = loadTemplateFile(
      env.WEBHOOK_TEMPLATE_FILE,
      env.WEBHOOK_TEMPLATE,
      readFile,
    );
    if ("problem" in file) errors.push(file.problem);
    else notifierEnv.WEBHOOK_TEMPLATE = file.text;
  }
  errors.push(...validateNotifierEnv(notifierEnv));
  warnings.push(...notifierWarnings(env));
  return { notifierEnv };
}
