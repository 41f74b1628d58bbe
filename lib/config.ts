/**
 * The environment contract: raw env → one fully defaulted, typed {@linkcode Config}. Every problem
 * is collected so an operator fixes a manifest in one round trip, not one variable per crash.
 * This is the only module that looks at environment variables: its steps, one per group of
 * variables, are in config_read.ts, the value parsers they share in config_values.ts, and the
 * documented table of variables (`--help`, README, chart) in config_variables.ts.
 *
 * @module
 */

import type { LogFormat, LogLevel } from "./log.ts";
import { NOTIFIER_VARIABLES } from "./notify_targets.ts";
import type { Actions } from "./policy.ts";
import type { IdentityUrls } from "./identity_urls.ts";
import { redactUrl } from "./redact.ts";
import { oneLine } from "./config_values.ts";
import {
  checkNodeLookup,
  readActions,
  readCluster,
  readEndpoints,
  type Reading,
  readListener,
  readLogging,
  readNames,
  readNotifiers,
  readRegion,
  readSwitches,
  readTiming,
} from "./config_read.ts";

/** The resolved configuration. */
export interface Config {
  nodeName?: string;
  podName?: string;
  namespace?: string;
  cluster?: string;
  pollIntervalMs: number;
  gracePeriodSeconds?: number;
  detachAsg: boolean;
  /** Label cordoned nodes `node.kubernetes.io/exclude-from-external-load-balancers`. */
  excludeFromLoadBalancers: boolean;
  /** How long before a maintenance event's `NotBefore` its cordon and drain begin. */
  maintenanceLeadMs: number;
  /** What each kind of notice triggers (`SPOT_ACTION`, `MAINTENANCE_ACTION`, ...; lib/policy.ts). */
  actions: Actions;
  imdsEndpoint: string;
  imdsV1Disabled: boolean;
  /** The old script's NOTICE_URL: polled as the legacy termination-time endpoint. */
  noticeUrl?: string;
  /** The old script's INSTANCE_ID_URL, INSTANCE_TYPE_URL, AZ_URL (lib/identity_urls.ts). */
  identityUrls: IdentityUrls;
  awsRegion?: string;
  asgEndpoint?: string;
  kubeconfigPath?: string;
  dryRun: boolean;
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** 0 turns the health and metrics listener off. */
  metricsPort: number;
  /** IP address the listener binds (`METRICS_ADDRESS`). */
  metricsAddress: string;
  /** Only the notifier variables that are set, passed to lib/notify.ts untouched. */
  notifierEnv: Record<string, string>;
}

/** Result of {@linkcode loadConfig}: a config when `errors` is empty. */
export interface ConfigResult {
  config?: Config;
  /** One line per problem, each naming its variable. */
  errors: string[];
  /** Problems that do not stop start-up (deprecated or ignored variables). */
  warnings: string[];
}
/** Options of {@linkcode loadConfig}: the side effects it needs, injected so tests stay pure. */
export interface LoadConfigOptions {
  /** Reads `WEBHOOK_TEMPLATE_FILE`; default `Deno.readFileSync`. */
  readFile?: (path: string) => Uint8Array;
  /**
   * Why `path` cannot be read as a file, or undefined when it can. Without it, `KUBECONFIG` is
   * not checked (main passes {@linkcode fileReadable}).
   */
  readable?: (path: string) => string | undefined;
}

/**
 * The real check behind `KUBECONFIG`: the path is a regular file this process may read.
 *
 * @example
 * ```ts
 * fileReadable("/nonexistent"); // "no such file"
 * ```
 */
export function fileReadable(path: string): string | undefined {
  try {
    if (!Deno.statSync(path).isFile) return "not a regular file";
    Deno.openSync(path, { read: true }).close();
    return undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "no such file";
    if (error instanceof Deno.errors.NotCapable) {
      return "not readable with this process's permissions (deno run needs --allow-read for it)";
    }
    if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
    return error instanceof Error ? error.name : "unreadable";
  }
}

/**
 * Resolve the configuration from an environment snapshot. Empty strings count as unset, since
 * manifests often template optional values to "". `WEBHOOK_TEMPLATE_FILE` is read with
 * `options.readFile` (default `Deno.readFileSync`).
 *
 * @example
 * ```ts
 * const { config, errors } = loadConfig({ NODE_NAME: "ip-10-0-0-1", POLL_INTERVAL: "5" });
 * if (errors.length) throw new Error(errors.join("\n"));
 * config!.pollIntervalMs; // 5000
 * ```
 */
export function loadConfig(
  rawEnv: Record<string, string | undefined>,
  options: LoadConfigOptions = {},
): ConfigResult {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawEnv)) if (v !== undefined && v !== "") env[k] = v;
  const reading: Reading = {
    env,
    errors: [],
    warnings: [],
    readFile: options.readFile ?? Deno.readFileSync,
    readable: options.readable,
  };
  // In this order, which is the order the problems are listed in.
  const timing = readTiming(reading);
  const listener = readListener(reading);
  const endpoints = readEndpoints(reading);
  const logging = readLogging(reading);
  const actions = readActions(reading);
  const switches = readSwitches(reading);
  const names = readNames(reading);
  const cluster = readCluster(reading);
  checkNodeLookup(reading);
  const region = readRegion(reading);
  const notifiers = readNotifiers(reading);
  // Each problem is printed as one `config error:` line: whatever a message quotes (a parse
  // error's text, a value), a newline in it must not start a line of its own.
  const errors = reading.errors.map(oneLine);
  const warnings = reading.warnings.map(oneLine);
  if (errors.length > 0) return { errors, warnings };
  const config = inLogOrder({
    ...timing,
    ...listener,
    ...endpoints,
    ...logging,
    ...actions,
    ...switches,
    ...names,
    ...cluster,
    ...region,
    ...notifiers,
  });
  return { errors, warnings, config };
}

/** The values the steps resolved; undefined where a variable was invalid (an error says why). */
type Resolved = { [K in keyof Required<Config>]: Config[K] | undefined };

/** The resolved values as one object, keys in the order the `configuration` log line lists them. */
function inLogOrder(p: Resolved): Config {
  return {
    nodeName: p.nodeName,
    podName: p.podName,
    namespace: p.namespace,
    cluster: p.cluster,
    pollIntervalMs: p.pollIntervalMs!,
    gracePeriodSeconds: p.gracePeriodSeconds,
    detachAsg: p.detachAsg!,
    excludeFromLoadBalancers: p.excludeFromLoadBalancers!,
    maintenanceLeadMs: p.maintenanceLeadMs!,
    actions: p.actions!,
    imdsEndpoint: p.imdsEndpoint!,
    imdsV1Disabled: p.imdsV1Disabled!,
    noticeUrl: p.noticeUrl,
    identityUrls: p.identityUrls!,
    awsRegion: p.awsRegion,
    asgEndpoint: p.asgEndpoint,
    kubeconfigPath: p.kubeconfigPath,
    dryRun: p.dryRun!,
    logFormat: p.logFormat!,
    logLevel: p.logLevel!,
    metricsPort: p.metricsPort!,
    metricsAddress: p.metricsAddress!,
    notifierEnv: p.notifierEnv!,
  };
}

/**
 * The config as it may be logged: notifier secrets replaced by `<set>`, and URLs reduced to
 * scheme and host because webhook URLs carry their token in the path.
 *
 * @example
 * ```ts
 * declare const config: Config;
 * redactConfig(config).notifierEnv; // { SLACK_URL: "<set>", SLACK_CHANNEL: "#ops" }
 * ```
 */
export function redactConfig(config: Config): Record<string, unknown> {
  const secret = new Set(NOTIFIER_VARIABLES.filter((v) => v.secret).map((v) => v.name));
  const notifiers: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.notifierEnv)) {
    notifiers[k] = secret.has(k) ? "<set>" : v;
  }
  const url = (u: string | undefined) => u === undefined ? undefined : redactUrl(u);
  return {
    ...config,
    imdsEndpoint: url(config.imdsEndpoint),
    noticeUrl: url(config.noticeUrl),
    asgEndpoint: url(config.asgEndpoint),
    notifierEnv: notifiers,
  };
}
