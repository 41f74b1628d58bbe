/**
 * The helm binary that tools/peers/setup.sh builds (`bash tools/peers/setup.sh helm`), and
 * `helm template`/`helm lint` of the chart, for tests/chart_test.ts and the real-peer suite.
 * Tests skip, saying so, when helm has not been built.
 *
 * @module
 */

import { parseAllDocuments } from "../dev_deps.ts";
import { DEFAULT_PEERS_DIR } from "./peers/peers.ts";
import { CHART_DIR } from "./chart.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A rendered Kubernetes object. */
export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** Path of the helm binary in the peers cache, or `$HELM`; undefined when neither exists. */
export function locateHelm(peersDir: string = DEFAULT_PEERS_DIR): string | undefined {
  for (const path of [Deno.env.get("HELM"), `${peersDir}/bin/helm`]) {
    if (!path) continue;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Exit status and output of one helm run. */
export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/** Run helm with `args` in the repository root. */
export async function helm(binary: string, args: string[]): Promise<HelmResult> {
  const out = await new Deno.Command(binary, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    // No user's helm configuration, caches or plugins leak into the result.
    env: {
      HELM_CONFIG_HOME: `${ROOT}.peers/helm/config`,
      HELM_CACHE_HOME: `${ROOT}.peers/helm/cache`,
      HELM_DATA_HOME: `${ROOT}.peers/helm/data`,
    },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { ok: out.success, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Options of {@linkcode helmTemplate}. */
export interface TemplateOptions {
  /** Release name; the docs' `spot-termination-handler` by default. */
  release?: string;
  /** Release namespace; `kube-system` by default, as in daemonset.yaml. */
  namespace?: string;
  /** `--set` assignments, e.g. `["env.POLL_INTERVAL=5"]`. */
  set?: string[];
  /** `--set-json` assignments. */
  setJson?: string[];
}

/**
 * `helm template` of the chart: its YAML text, or helm's error.
 *
 * @example
 * ```ts
 * const result = await helmTemplate(locateHelm()!, { set: ["hostNetwork=false"] });
 * ```
 */
export async function helmTemplate(
  binary: string,
  options: TemplateOptions = {},
): Promise<HelmResult> {
  const args = [
    "template",
    options.release ?? "spot-termination-handler",
    CHART_DIR,
    "--namespace",
    options.namespace ?? "kube-system",
  ];
  for (const s of options.set ?? []) args.push("--set", s);
  for (const s of options.setJson ?? []) args.push("--set-json", s);
  return await helm(binary, args);
}

/** The objects of a multi-document YAML text (empty documents dropped). */
export function yamlObjects(text: string): KubeObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o && typeof o === "object");
}
