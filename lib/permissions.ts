/**
 * The one list of Deno permissions the handler runs with. The Dockerfile's `deno compile`, the
 * `start` task in deno.json and the end-to-end tests are all checked against it
 * (tests/permissions_test.ts), so widening the sandbox is always a deliberate, reviewed change.
 *
 * @module
 */

/** Directories holding the credentials the handler may read: the Kubernetes service account's,
 * IRSA's and EKS Pod Identity's projected tokens. Nothing else on disk is readable in a cluster. */
export const TOKEN_DIRS: readonly string[] = [
  "/var/run/secrets/kubernetes.io/serviceaccount",
  "/var/run/secrets/eks.amazonaws.com/serviceaccount",
  "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
];

/**
 * The one folder of configuration files the handler may read: `WEBHOOK_TEMPLATE_FILE` lives here
 * (mount a ConfigMap on it). Read-only, like the token folders.
 */
export const CONFIG_DIR = "/etc/spot-termination-handler";

/**
 * The permission flags of the shipped binary. `sys` is limited to `osRelease` because the AWS
 * SDK reads it for its user agent; no run, write or ffi.
 *
 * @example
 * ```ts
 * const cmd = ["deno", "run", ...HANDLER_PERMISSIONS, "main.ts"];
 * ```
 */
export const HANDLER_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  `--allow-read=${[...TOKEN_DIRS, CONFIG_DIR].join(",")}`,
  "--allow-sys=osRelease",
];

/**
 * The handler's flags plus read access to a local kubeconfig, for runs outside a cluster (the
 * demo, the end-to-end tests, `deno run` on a workstation). Deno merges repeated `--allow-read`.
 *
 * @example
 * ```ts
 * localPermissions("/tmp/kubeconfig"); // [...HANDLER_PERMISSIONS, "--allow-read=/tmp/kubeconfig"]
 * ```
 */
export function localPermissions(kubeconfigPath?: string): string[] {
  return kubeconfigPath
    ? [...HANDLER_PERMISSIONS, `--allow-read=${kubeconfigPath}`]
    : [...HANDLER_PERMISSIONS];
}
