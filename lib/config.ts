// deno-lint-ignore-file house/max-file-lines house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * The environment contract: raw env → one fully defaulted, typed {@linkcode Config}. Every problem
 * is collected so an operator fixes a manifest in one round trip, not one variable per crash.
 * This is the only module that looks at environment variables.
 *
 * @module
 */

import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";
import { notifierWarnings, validateNotifierEnv } from "./notify_env.ts";
import { NOTIFIER_VARIABLES } from "./notify_targets.ts";
import { ACTION_RULES, ACTIONS, type Actions } from "./policy.ts";
import { DEFAULT_MAINTENANCE_LEAD_MS } from "./maintenance.ts";
import type { IdentityUrls } from "./identity_urls.ts";
import { redactUrl } from "./redact.ts";
import { loadTemplateFile } from "./webhook_template.ts";

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

/** One row of the documented contract, also the source of `--help`. */
export interface VariableDoc {
  name: string;
  default: string;
  description: string;
  secret?: boolean;
}

/** The core variables; notifier variables come from lib/notify_targets.ts's table. */
export const CORE_VARIABLES: readonly VariableDoc[] = [
  { name: "NODE_NAME", default: "—", description: "node to handle (downward API spec.nodeName)" },
  {
    name: "POD_NAME",
    default: "—",
    description: "the handler's own pod: never evicted; finds the node when NODE_NAME is unset",
  },
  { name: "NAMESPACE", default: "—", description: "namespace of the handler's own pod" },
  { name: "CLUSTER", default: "—", description: "cluster label in every message" },
  { name: "POLL_INTERVAL", default: "1", description: "seconds between IMDS polls (0.1..300)" },
  {
    name: "GRACE_PERIOD",
    default: "pod's own",
    description: "eviction grace seconds; always capped so pods end before the deadline",
  },
  {
    name: "DETACH_ASG",
    default: "off",
    description: "any value but 'false' detaches the instance from its Auto Scaling group",
  },
  ...ACTION_RULES.map((r) => ({
    name: r.variable,
    default: r.default,
    description: `on a ${r.description}: notify, cordon or drain`,
  })),
  {
    name: "MAINTENANCE_LEAD",
    default: "15m",
    description:
      "scheduled maintenance: announce at once, cordon and drain this long before NotBefore",
  },
  {
    name: "EXCLUDE_FROM_LOAD_BALANCERS",
    default: "true",
    description:
      "label a node it cordons node.kubernetes.io/exclude-from-external-load-balancers (removed on return)",
  },
  {
    name: "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    default: "http://169.254.169.254",
    description: "IMDS base URL (point it at a mock IMDS for local runs)",
  },
  {
    name: "AWS_EC2_METADATA_V1_DISABLED",
    default: "false",
    description: "true: never fall back to IMDSv1",
  },
  {
    name: "NOTICE_URL",
    default: "—",
    description: "old script: a full URL polled as the legacy spot/termination-time endpoint",
  },
  {
    name: "INSTANCE_ID_URL",
    default: "IMDS",
    description: "old script: a full URL that gives the instance ID",
  },
  {
    name: "INSTANCE_TYPE_URL",
    default: "IMDS",
    description: "old script: a full URL that gives the instance type",
  },
  {
    name: "AZ_URL",
    default: "IMDS",
    description: "old script: a full URL that gives the availability zone (and so the region)",
  },
  { name: "AWS_REGION", default: "from IMDS", description: "region of the Auto Scaling API" },
  {
    name: "AWS_ENDPOINT_URL_AUTO_SCALING",
    default: "AWS",
    description: "Auto Scaling API endpoint override",
  },
  { name: "KUBECONFIG", default: "in-cluster", description: "kubeconfig file for local runs" },
  { name: "DRY_RUN", default: "false", description: "log and notify the plan; change nothing" },
  { name: "LOG_FORMAT", default: "text", description: "text or json" },
  { name: "LOG_LEVEL", default: "info", description: "debug, info, warn or error" },
  { name: "VERBOSE", default: "—", description: "old script: 1 logs every poll (LOG_LEVEL=debug)" },
  {
    name: "METRICS_PORT",
    default: "9092",
    description: "port of /healthz, /readyz and /metrics (0 = off)",
  },
  {
    name: "METRICS_ADDRESS",
    default: "127.0.0.1",
    description:
      "IP address of that listener; the manifest sets the pod IP (status.podIP), where the probes connect",
  },
];

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

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

function parseBool(name: string, value: string | undefined, errors: string[]): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  errors.push(`${name}: expected true or false, got ${JSON.stringify(value)}`);
  return false;
}

function parseNumber(
  name: string,
  value: string,
  options: { min: number; max: number; integer?: boolean },
  errors: string[],
): number | undefined {
  // Plain decimal only: Number() also takes 0x10, 0b1, 1e3, "9092." and " ", which an operator
  // never means as seconds or a port.
  const text = value.trim();
  const kind = options.integer ? "a whole number" : "a decimal number";
  const pattern = options.integer ? /^\d+$/ : /^\d+(\.\d+)?$/;
  const n = Number(text);
  if (!pattern.test(text) || !Number.isFinite(n)) {
    errors.push(`${name}: expected ${kind} (digits only), got ${JSON.stringify(value)}`);
    return undefined;
  }
  if (n < options.min || n > options.max) {
    errors.push(`${name}: must be between ${options.min} and ${options.max}, got ${value}`);
    return undefined;
  }
  return n;
}

/**
 * An http(s) URL. `base` URLs get paths appended (`/latest/meta-data/...`), so a query string or
 * fragment would end up in the middle of every request's URL: refused. A full URL polled as is
 * may keep its query, but a fragment is never sent, so it is a mistake either way. Errors show
 * the value with its user-info redacted.
 */
function parseUrl(
  name: string,
  value: string,
  errors: string[],
  kind: "base" | "full" = "base",
): string | undefined {
  const text = value.trim();
  const shown = JSON.stringify(redactUrl(text));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    errors.push(`${name}: expected an http(s) URL, got ${shown}`);
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    errors.push(`${name}: expected an http(s) URL, got ${shown}`);
    return undefined;
  }
  if (/[\s\p{Cc}]/u.test(text)) {
    errors.push(`${name}: must not contain spaces or control characters`);
    return undefined;
  }
  if (text.includes("#")) {
    errors.push(`${name}: must not have a #fragment, got ${shown}`);
    return undefined;
  }
  if (kind === "base" && text.includes("?")) {
    errors.push(
      `${name}: must not have a ?query (paths are appended to it), got ${shown}`,
    );
    return undefined;
  }
  return kind === "base" ? text.replace(/\/+$/, "") : text;
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
const MAX_LEAD_MS = 7 * 86_400_000;

/** `90s`, `10m`, `1h30m`, `0`: a duration in milliseconds, up to a week. */
function parseDuration(name: string, value: string, errors: string[]): number | undefined {
  const v = value.trim().toLowerCase();
  const m = DURATION.exec(v);
  if (v === "0") return 0;
  if (!m || v === "") {
    errors.push(
      `${name}: expected a duration like 90s, 10m or 1h30m, got ${JSON.stringify(value)}`,
    );
    return undefined;
  }
  const ms = (Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0)) * 1000;
  if (ms > MAX_LEAD_MS) {
    errors.push(`${name}: at most 7 days (168h), got ${JSON.stringify(value)}`);
    return undefined;
  }
  return ms;
}

// RFC 1123 subdomain (what Kubernetes requires of node and pod names) and label (namespaces).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object name, trimmed; the error never echoes control characters raw. */
function parseName(
  name: string,
  value: string,
  kind: "subdomain" | "label",
  errors: string[],
): string | undefined {
  const text = value.trim();
  const ok = kind === "label"
    ? DNS_LABEL.test(text)
    : text.length <= 253 && DNS_SUBDOMAIN.test(text) &&
      text.split(".").every((part) => part.length <= 63);
  if (ok) return text;
  const rule = kind === "label"
    ? "a DNS label: lowercase letters, digits and '-', at most 63"
    : "a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253";
  errors.push(`${name}: expected ${rule}, got ${JSON.stringify(value)}`);
  return undefined;
}

/** `text` with control characters as `\n`-style escapes. */
function oneLine(text: string): string {
  return text.replace(
    /[\p{Cc}\u2028\u2029]/gu,
    (c) =>
      c === "\n"
        ? "\\n"
        : c === "\r"
        ? "\\r"
        : c === "\t"
        ? "\\t"
        : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** An IP address literal to bind: no host names, which could resolve to anything. */
function parseAddress(name: string, value: string, errors: string[]): string | undefined {
  const text = value.trim();
  const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  if (v4.test(text)) return text;
  if (/^[0-9a-fA-F:.]+$/.test(text) && text.includes(":")) {
    try {
      new URL(`http://[${text}]/`);
      return text;
    } catch {
      // Not an IPv6 literal either.
    }
  }
  errors.push(
    `${name}: expected an IP address such as 127.0.0.1, the pod IP or ::1, got ${
      JSON.stringify(value)
    }`,
  );
  return undefined;
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

function parseChoice<T extends string>(
  name: string,
  value: string,
  choices: readonly T[],
  errors: string[],
): T | undefined {
  const v = value.trim().toLowerCase() as T;
  if (choices.includes(v)) return v;
  errors.push(`${name}: expected one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return undefined;
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
  const errors: string[] = [];
  const warnings: string[] = [];

  const pollSeconds = env.POLL_INTERVAL === undefined
    ? 1
    : parseNumber("POLL_INTERVAL", env.POLL_INTERVAL, { min: 0.1, max: 300 }, errors);
  const grace = env.GRACE_PERIOD === undefined
    ? undefined
    : parseNumber("GRACE_PERIOD", env.GRACE_PERIOD, { min: 0, max: 3600, integer: true }, errors);
  const metricsPort = env.METRICS_PORT === undefined
    ? 9092
    : parseNumber("METRICS_PORT", env.METRICS_PORT, { min: 0, max: 65535, integer: true }, errors);
  const metricsAddress = env.METRICS_ADDRESS === undefined
    ? "127.0.0.1"
    : parseAddress("METRICS_ADDRESS", env.METRICS_ADDRESS, errors);
  const imdsEndpoint = parseUrl(
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? "http://169.254.169.254",
    errors,
  );
  const noticeUrl = env.NOTICE_URL === undefined
    ? undefined
    : parseUrl("NOTICE_URL", env.NOTICE_URL, errors, "full");
  const identityUrls: IdentityUrls = {};
  for (
    const [field, name] of [
      ["instanceId", "INSTANCE_ID_URL"],
      ["instanceType", "INSTANCE_TYPE_URL"],
      ["availabilityZone", "AZ_URL"],
    ] as const
  ) {
    if (env[name] !== undefined) identityUrls[field] = parseUrl(name, env[name], errors, "full");
  }
  const asgEndpoint = env.AWS_ENDPOINT_URL_AUTO_SCALING === undefined
    ? undefined
    : parseUrl("AWS_ENDPOINT_URL_AUTO_SCALING", env.AWS_ENDPOINT_URL_AUTO_SCALING, errors);
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
  const actions = Object.fromEntries(ACTION_RULES.map((r) => [
    r.kind,
    env[r.variable] === undefined
      ? r.default
      : parseChoice(r.variable, env[r.variable], ACTIONS, errors),
  ])) as Actions;
  const maintenanceLeadMs = env.MAINTENANCE_LEAD === undefined
    ? DEFAULT_MAINTENANCE_LEAD_MS
    : parseDuration("MAINTENANCE_LEAD", env.MAINTENANCE_LEAD, errors);
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

  const nodeName = env.NODE_NAME === undefined
    ? undefined
    : parseName("NODE_NAME", env.NODE_NAME, "subdomain", errors);
  const podName = env.POD_NAME === undefined
    ? undefined
    : parseName("POD_NAME", env.POD_NAME, "subdomain", errors);
  const namespace = env.NAMESPACE === undefined
    ? undefined
    : parseName("NAMESPACE", env.NAMESPACE, "label", errors);
  const cluster = env.CLUSTER?.trim();
  if (cluster !== undefined && (cluster === "" || /\p{Cc}/u.test(cluster))) {
    errors.push(
      `CLUSTER: must be non-blank text without control characters, got ${
        JSON.stringify(env.CLUSTER)
      }`,
    );
  }
  const kubeconfigPath = env.KUBECONFIG?.trim();
  if (kubeconfigPath !== undefined && options.readable) {
    const problem = kubeconfigPath === "" ? "blank" : options.readable(kubeconfigPath);
    if (problem) {
      errors.push(`KUBECONFIG: ${JSON.stringify(kubeconfigPath)} cannot be read: ${problem}`);
    }
  }

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
  if (env.AWS_REGION !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(env.AWS_REGION)) {
    errors.push(
      `AWS_REGION: expected a region like us-east-1, got ${JSON.stringify(env.AWS_REGION)}`,
    );
  }

  const notifierEnv: Record<string, string> = {};
  for (const v of NOTIFIER_VARIABLES) {
    if (env[v.name] !== undefined) notifierEnv[v.name] = env[v.name];
  }
  // The one file the configuration may name, read once here so a problem is a config error.
  if (env.WEBHOOK_TEMPLATE_FILE !== undefined) {
    const file = loadTemplateFile(
      env.WEBHOOK_TEMPLATE_FILE,
      env.WEBHOOK_TEMPLATE,
      options.readFile ?? Deno.readFileSync,
    );
    if ("problem" in file) errors.push(file.problem);
    else notifierEnv.WEBHOOK_TEMPLATE = file.text;
  }
  errors.push(...validateNotifierEnv(notifierEnv));
  warnings.push(...notifierWarnings(env));
  // Each problem is printed as one `config error:` line: whatever a message quotes (a parse
  // error's text, a value), a newline in it must not start a line of its own.
  for (const list of [errors, warnings]) {
    list.forEach((line, i) => list[i] = oneLine(line));
  }

  if (errors.length > 0) return { errors, warnings };
  return {
    errors,
    warnings,
    config: {
      nodeName,
      podName,
      namespace,
      cluster,
      pollIntervalMs: Math.round(pollSeconds! * 1000),
      gracePeriodSeconds: grace,
      detachAsg,
      excludeFromLoadBalancers,
      maintenanceLeadMs: maintenanceLeadMs!,
      actions,
      imdsEndpoint: imdsEndpoint!,
      imdsV1Disabled,
      noticeUrl,
      identityUrls,
      awsRegion: env.AWS_REGION,
      asgEndpoint,
      kubeconfigPath,
      dryRun,
      logFormat: logFormat!,
      logLevel: logLevel!,
      metricsPort: metricsPort!,
      metricsAddress: metricsAddress!,
      notifierEnv,
    },
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

function helpTable(rows: readonly VariableDoc[]): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  const dWidth = Math.max(...rows.map((r) => r.default.length));
  return rows
    .map((r) => `  ${r.name.padEnd(width)}  ${r.default.padEnd(dWidth)}  ${r.description}`)
    .join("\n");
}

/** The `--help` text: every variable with its default and meaning. Never shows values. */
export function helpText(): string {
  const notifierRows: VariableDoc[] = NOTIFIER_VARIABLES.map((v) => ({
    name: v.name,
    default: "—",
    description: `${v.target}: ${v.description}${v.secret ? " (secret)" : ""}`,
  }));
  return [
    "spot-termination-handler: cordons and drains a node when AWS announces that its instance",
    "will be reclaimed (spot interruption, rebalance, scheduled maintenance, ASG termination).",
    "",
    "Usage: spot-termination-handler [--help | --check | --test-notification]",
    "  --check              run the start-up checks once (Kubernetes API, node, RBAC, IMDS, AWS",
    "                       credentials); one line per check; exit 0 only when all pass",
    "  --test-notification  send one message marked [TEST] to every configured target; exit 0",
    "                       only when every delivery succeeded",
    "Configured by environment variables only:",
    "",
    helpTable(CORE_VARIABLES),
    "",
    "Notifications (each target is on when its first variable is set):",
    "",
    helpTable(notifierRows),
    "",
    "Exit codes: 0 after SIGTERM/SIGINT, 2 on invalid configuration, 1 when --check or",
    "--test-notification found a problem.",
  ].join("\n");
}
