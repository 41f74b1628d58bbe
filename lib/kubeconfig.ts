/**
 * Just enough of a kubeconfig to reach the API server without loading `@kubernetes/client-node`
 * (0.4–0.9 s and +83 MiB, measured; docs/design.md): the current context's server, CA, token or
 * client certificate. kubectl and most tools write kubeconfigs as plain block YAML, which the
 * small reader (kubeconfig_yaml.ts) handles; anything it does not (anchors, multi-line strings,
 * exec or auth-provider plugins, https with certificate checks turned off) is reported as an
 * `UnsupportedKubeconfigError`, and the caller falls back to the full client, which is acceptable
 * for the local runs that use a kubeconfig at all.
 *
 * Parse errors never quote the file: a kubeconfig holds tokens and keys.
 *
 * @module
 */

import { KubeError } from "./kube_errors.ts";
import { unsupported } from "./kubeconfig_yaml.ts";

/** How to reach the API server, resolved from a kubeconfig or the in-cluster files. */
export interface KubeTarget {
  /** e.g. `https://10.100.0.1:443`, without a trailing slash. */
  server: string;
  /** Bearer token, when the user authenticates with one. */
  token?: string;
  /** Re-read on use, since projected service-account tokens rotate. */
  tokenFile?: string;
  /** PEM of the CA that signs the server certificate. */
  caPem?: string;
  /** PEM client certificate and key, for certificate users. */
  certPem?: string;
  keyPem?: string;
  /** Where this came from, for messages: a path or "in-cluster". */
  source: string;
}

type Obj = Record<string, unknown>;

function named(list: unknown, name: string, what: string): Obj {
  const entry = Array.isArray(list)
    ? list.find((e) => (e as Obj)?.name === name) as Obj | undefined
    : undefined;
  const inner = entry?.[what];
  if (typeof inner !== "object" || inner === null) {
    throw new KubeError(`${what} "${name}" is not defined`, { kind: "config" });
  }
  return inner as Obj;
}

function decodeBase64(value: unknown, field: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(String(value)), (c) => c.charCodeAt(0)));
  } catch {
    throw new KubeError(`${field} is not valid base64`, { kind: "config" });
  }
}

/** Reads a file named by the kubeconfig; injected so tests need no files. */
export type ReadText = (path: string) => Promise<string>;

/**
 * Resolve the current context of a parsed kubeconfig to a {@linkcode KubeTarget}. Relative file
 * paths are taken relative to the kubeconfig's folder, as kubectl does.
 *
 * @example
 * ```ts
 * import { parseKubeconfigText } from "./kubeconfig_yaml.ts";
 * import { resolveKubeconfig } from "./kubeconfig.ts";
 * const config = parseKubeconfigText(await Deno.readTextFile("/tmp/kubeconfig"));
 * const target = await resolveKubeconfig(config, { path: "/tmp/kubeconfig", readText: Deno.readTextFile });
 * ```
 */
export async function resolveKubeconfig(
  config: Obj,
  options: { path: string; readText: ReadText },
): Promise<KubeTarget> {
  const { cluster, user } = currentContext(config);
  const server = serverOf(cluster);
  refuseUnsupported(server, cluster, user);
  const files = kubeconfigFiles(options.path, options.readText);
  const target: KubeTarget = { server, source: options.path };
  const caPem = await pem(cluster, "certificate-authority", files);
  if (caPem !== undefined) target.caPem = caPem;
  if (typeof user.token === "string" && user.token !== "") target.token = user.token;
  else if (user.tokenFile) target.tokenFile = files.path(user.tokenFile);
  const certPem = await pem(user, "client-certificate", files);
  if (certPem !== undefined) target.certPem = certPem;
  const keyPem = await pem(user, "client-key", files);
  if (keyPem !== undefined) target.keyPem = keyPem;
  return target;
}

/** The current context's cluster and user entries (a context without a user: no credentials). */
function currentContext(config: Obj): { cluster: Obj; user: Obj } {
  const contextName = config["current-context"];
  if (typeof contextName !== "string" || contextName === "") {
    throw new KubeError("no current-context", { kind: "config" });
  }
  const context = named(config.contexts, contextName, "context");
  const cluster = named(config.clusters, String(context.cluster ?? ""), "cluster");
  const user = context.user === undefined || context.user === null
    ? {}
    : named(config.users, String(context.user), "user");
  return { cluster, user };
}

/** The cluster's http(s) server, without a trailing slash; plain http only with TLS checks off. */
function serverOf(cluster: Obj): string {
  const server = typeof cluster.server === "string" ? cluster.server.replace(/\/+$/, "") : "";
  if (!/^https?:\/\/[^/]/.test(server)) {
    throw new KubeError("the cluster has no http(s) server", { kind: "config" });
  }
  if (server.startsWith("http:") && cluster["insecure-skip-tls-verify"] !== true) {
    // The full client refuses this too; saying so at start-up beats saying it at the notice.
    throw new KubeError(
      "HTTP protocol is not allowed when skipTLSVerify is not set (plain-http server without insecure-skip-tls-verify: true)",
      { kind: "tls" },
    );
  }
  return server;
}

/** What only the full client does: unchecked https, credential plugins, basic auth. */
function refuseUnsupported(server: string, cluster: Obj, user: Obj): void {
  if (server.startsWith("https:") && cluster["insecure-skip-tls-verify"] === true) {
    unsupported("insecure-skip-tls-verify with an https server");
  }
  for (const plugin of ["exec", "auth-provider"]) {
    if (user[plugin] !== undefined && user[plugin] !== null) unsupported(`user ${plugin} plugins`);
  }
  if (user.username !== undefined) unsupported("basic-auth users");
}

/** Files a kubeconfig names: relative paths are taken from its folder, as kubectl does. */
interface KubeconfigFiles {
  path(p: unknown): string;
  /** The file's text; a `config` KubeError naming `field` and the path when it cannot be read. */
  read(p: unknown, field: string): Promise<string>;
}

function kubeconfigFiles(kubeconfigPath: string, readText: ReadText): KubeconfigFiles {
  const dir = kubeconfigPath.includes("/") ? kubeconfigPath.replace(/\/[^/]*$/, "") : ".";
  const path = (p: unknown) => String(p).startsWith("/") ? String(p) : `${dir}/${p}`;
  return {
    path,
    async read(p, field) {
      try {
        return await readText(path(p));
      } catch (error) {
        throw new KubeError(`${field} ${path(p)} cannot be read (${(error as Error).name})`, {
          kind: "config",
        });
      }
    },
  };
}

/** A PEM given inline (`<field>-data`, base64) or as a file (`<field>`); undefined when neither. */
async function pem(entry: Obj, field: string, files: KubeconfigFiles): Promise<string | undefined> {
  if (entry[`${field}-data`]) return decodeBase64(entry[`${field}-data`], `${field}-data`);
  if (entry[field]) return await files.read(entry[field], field);
  return undefined;
}

/** The service account's files, as the kubelet mounts them. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The in-cluster target: `KUBERNETES_SERVICE_HOST`/`_PORT`, the mounted token and `ca.crt`.
 *
 * @example
 * ```ts
 * import { resolveInCluster } from "./kubeconfig.ts";
 * const target = await resolveInCluster({ host: "10.100.0.1", port: "443" }, { readText: Deno.readTextFile });
 * ```
 */
export async function resolveInCluster(
  env: { host?: string; port?: string },
  options: { readText: ReadText; dir?: string },
): Promise<KubeTarget> {
  const dir = options.dir ?? SERVICE_ACCOUNT_DIR;
  if (!env.host || !env.port) {
    throw new KubeError(
      "KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: not running in a pod? Set KUBECONFIG for local runs",
      { kind: "config" },
    );
  }
  let caPem: string;
  try {
    caPem = await options.readText(`${dir}/ca.crt`);
    await options.readText(`${dir}/token`);
  } catch (error) {
    throw new KubeError(
      `the service account files in ${dir} cannot be read (${
        (error as Error).name
      }): is automountServiceAccountToken off?`,
      { kind: "config" },
    );
  }
  const host = env.host.includes(":") ? `[${env.host}]` : env.host;
  return {
    server: `https://${host}:${env.port}`,
    tokenFile: `${dir}/token`,
    caPem,
    source: "in-cluster",
  };
}
