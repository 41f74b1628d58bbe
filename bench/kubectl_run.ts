/**
 * The old way, for comparison: `kubectl drain --force --ignore-daemonsets
 * --delete-emptydir-data` against a fresh Kubernetes API stand-in holding the same pods. kubectl
 * gets no token (it does not send one over plain HTTP) and an empty cache directory, so its
 * discovery requests are part of the drain, as they are for the old script in a new container.
 *
 * @module
 */

import { startFakeApiServer } from "../tools/fake_apiserver.ts";
import { BENCH_NODE } from "./handler_run.ts";
import type { NodePod } from "./pods.ts";
import { type ApiTimeline, apiTimeline } from "./timeline.ts";

/** Options of {@linkcode runKubectlDrain}. */
export interface KubectlRunOptions {
  pods: NodePod[];
  latencyMs: number;
  deleteAfterMs: number;
  /** kubectl's own `--timeout`; default 300 s. */
  timeoutSeconds?: number;
}

/** What one kubectl drain measured. */
export interface KubectlRun {
  /** Epoch ms when kubectl was started. */
  started: number;
  /** Epoch ms when it exited. */
  exited: number;
  code: number;
  /** The last lines of its stderr, for a failure report. */
  stderrTail: string;
  api: ApiTimeline;
}

/**
 * Run `kubectl drain --force --ignore-daemonsets --delete-emptydir-data` as the old script did,
 * with nothing of this process's environment and a fresh cache under `home` (so its discovery
 * requests are part of the drain).
 *
 * @example
 * ```ts
 * const out = await kubectlDrain("ip-10-0-1-23", { kubeconfig, home, timeoutSeconds: 300 });
 * ```
 */
export function kubectlDrain(
  node: string,
  options: { kubeconfig: string; home: string; timeoutSeconds: number },
): Promise<Deno.CommandOutput> {
  return new Deno.Command("kubectl", {
    args: [
      "--kubeconfig",
      options.kubeconfig,
      "--cache-dir",
      `${options.home}/cache-${node}`,
      "drain",
      node,
      "--force",
      "--ignore-daemonsets",
      "--delete-emptydir-data",
      `--timeout=${options.timeoutSeconds}s`,
    ],
    env: { HOME: options.home, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
}

/**
 * Drain the benchmark node with kubectl and record what reached the API.
 *
 * @example
 * ```ts
 * const run = await runKubectlDrain({ pods, latencyMs: 5, deleteAfterMs: 500 });
 * console.log(run.exited - run.started, run.api.requests);
 * ```
 */
export async function runKubectlDrain(options: KubectlRunOptions): Promise<KubectlRun> {
  const api = startFakeApiServer({
    nodes: [BENCH_NODE],
    pods: options.pods,
    latencyMs: options.latencyMs,
    deleteAfterMs: options.deleteAfterMs,
  });
  const home = await Deno.makeTempDir({ prefix: "sth-bench-kubectl-" });
  try {
    await api.writeKubeconfig(`${home}/kubeconfig`);
    const started = Date.now();
    const out = await kubectlDrain(BENCH_NODE, {
      kubeconfig: `${home}/kubeconfig`,
      home,
      timeoutSeconds: options.timeoutSeconds ?? 300,
    });
    const exited = Date.now();
    const stderr = new TextDecoder().decode(out.stderr).trim().split("\n");
    return {
      started,
      exited,
      code: out.code,
      stderrTail: stderr.slice(-5).join("\n"),
      api: apiTimeline(api.requests, { latencyMs: options.latencyMs }),
    };
  } finally {
    await api.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
