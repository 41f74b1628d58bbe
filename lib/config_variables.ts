/**
 * The documented environment contract: every core variable with its default and meaning, the
 * source of `--help`, the README's table and the Helm chart's values (tools/chart.ts). Notifier
 * variables come from lib/notify_targets.ts's table.
 *
 * @module
 */

import { NOTIFIER_VARIABLES } from "./notify_targets.ts";
import { ACTION_RULES } from "./policy.ts";

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
