/**
 * The local stack the demo, the end-to-end tests and the benchmarks run the real handler in:
 * mock IMDS + Kubernetes API stand-in + Auto Scaling stand-in + webhook sink, and `main.ts` as a
 * subprocess with exactly the shipped permission flags (plus read access to the kubeconfig).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { localPermissions } from "../lib/permissions.ts";
import { HANDLER_RUNTIME_FLAGS } from "../lib/runtime_flags.ts";
import {
  type FakeApiServer,
  type FakeApiServerOptions,
  startFakeApiServer,
} from "./fake_apiserver.ts";
import { type FakeAutoScaling, startFakeAutoScaling } from "./fake_autoscaling.ts";
import {
  DEFAULT_IDENTITY,
  type MockImds,
  type MockImdsOptions,
  startMockImds,
} from "./mock_imds.ts";
import { startWebhookSink, type WebhookSink } from "./webhook_sink.ts";

/** Path of the handler's entry point. */
export const MAIN_TS: string = fileURLToPath(new URL("../main.ts", import.meta.url));

/** A running handler subprocess. */
export interface HandlerProcess {
  /** Every stdout and stderr line so far. */
  readonly lines: string[];
  /** The handler's process id (for RSS readings in /proc). */
  readonly pid: number;
  /** Resolves with the first line (past or future) matching `pattern`; rejects after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<Deno.CommandStatus>;
  /** Send a signal, e.g. SIGKILL to simulate a crash. */
  kill(signal: Deno.Signal): void;
}

/** Options of {@linkcode spawnHandler}. */
export interface SpawnOptions {
  env: Record<string, string>;
  kubeconfig?: string;
  args?: string[];
  /** Extra `deno run` flags before main.ts; for measurements only (the benchmarks' variants). */
  denoFlags?: string[];
  /**
   * In place of the shipped runtime flags (`HANDLER_RUNTIME_FLAGS`); for measurements only, e.g.
   * `[]` to measure the handler without its V8 flags.
   */
  runtimeFlags?: readonly string[];
  /** Called with each output line as it arrives (the demo prints them). */
  onLine?: (line: string) => void;
}

// Only what Deno itself needs to find its cache; the handler must not depend on the caller's env.
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/**
 * The extra `deno run` flags of a measurement, refused when one of them would grant a permission:
 * the stack always runs the handler with exactly the shipped permissions.
 *
 * @example
 * ```ts
 * nonPermissionFlags(["--no-config"]); // ["--no-config"]
 * nonPermissionFlags(["--no-config", "--seed=1"]); // both kept; --allow-… throws
 * ```
 */
export function nonPermissionFlags(flags: readonly string[] = []): string[] {
  const granting = flags.filter((f) =>
    /^(--allow-|--permission-set|-A$|-P(=|$)|--unstable-|--deny-)/.test(f)
  );
  if (granting.length > 0) {
    throw new TypeError(`spawnHandler: denoFlags may not change permissions: ${granting}`);
  }
  return [...flags];
}

/**
 * Run `main.ts` with the shipped permission and runtime flags.
 *
 * @example
 * ```ts
 * const p = spawnHandler({ env: { NODE_NAME: "n1" }, kubeconfig: "/tmp/kc" });
 * await p.waitForLine(/Polling/);
 * await p.stop();
 * ```
 */
export function spawnHandler(options: SpawnOptions): HandlerProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...localPermissions(options.kubeconfig),
      ...nonPermissionFlags(options.runtimeFlags ?? HANDLER_RUNTIME_FLAGS),
      ...nonPermissionFlags(options.denoFlags),
      MAIN_TS,
      ...(options.args ?? []),
    ],
    env: { ...baseEnv(), ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  async function pump(stream: ReadableStream<Uint8Array>) {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        options.onLine?.(line);
      }
      for (const w of waiters) w();
    }
    if (rest) {
      lines.push(rest);
      options.onLine?.(rest);
    }
    for (const w of waiters) w();
  }
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = pumped.then(() => child.status);
  let exited = false;
  status.then(() => {
    exited = true;
    for (const w of waiters) w();
  });
  return {
    lines,
    pid: child.pid,
    status,
    waitForLine(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit !== undefined || exited) {
            waiters.delete(check);
            clearTimeout(timer);
            if (hit !== undefined) resolve(hit);
            else {reject(
                new Error(
                  `handler exited without a line matching ${pattern}:\n${lines.join("\n")}`,
                ),
              );}
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.join("\n")}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    kill(signal) {
      child.kill(signal);
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      return await status;
    },
  };
}

/** The fakes around one node. */
export interface Stack {
  imds: MockImds;
  api: FakeApiServer;
  asg: FakeAutoScaling;
  sink: WebhookSink;
  kubeconfig: string;
  node: string;
  /** Environment for main.ts pointing at all of the above. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Options of {@linkcode startStack}. */
export interface StackOptions {
  node?: string;
  imds?: MockImdsOptions;
  api?: FakeApiServerOptions;
  /** The instance's Auto Scaling group (default "spot-workers"); null = not in a group. */
  group?: string | null;
  dir?: string;
}

/**
 * Start every fake and write the kubeconfig.
 *
 * @example
 * ```ts
 * const stack = await startStack({ api: { pods: demoPods("n1") }, node: "n1" });
 * const handler = spawnHandler({ env: stack.env, kubeconfig: stack.kubeconfig });
 * ```
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const node = options.node ?? "ip-10-0-1-23.ec2.internal";
  const imds = startMockImds(options.imds ?? {});
  const api = startFakeApiServer({ nodes: [node], ...options.api });
  const group = options.group === undefined ? "spot-workers" : options.group;
  const asg = startFakeAutoScaling({
    instances: group ? [{ instanceId: DEFAULT_IDENTITY.instanceId, group }] : [],
  });
  const sink = startWebhookSink();
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "sth-stack-" });
  const kubeconfig = `${dir}/kubeconfig`;
  await api.writeKubeconfig(kubeconfig);
  const env: Record<string, string> = {
    NODE_NAME: node,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    KUBECONFIG: kubeconfig,
    POLL_INTERVAL: "0.2",
    METRICS_PORT: "0",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_AUTO_SCALING: asg.url,
    AWS_ACCESS_KEY_ID: "AKIAFAKEFORTESTS",
    AWS_SECRET_ACCESS_KEY: "fake-secret",
    // Keep the SDK's credential chain away from the real instance metadata address.
    AWS_EC2_METADATA_DISABLED: "true",
    WEBHOOK_URL: `${sink.url}/webhook`,
  };
  return {
    imds,
    api,
    asg,
    sink,
    kubeconfig,
    node,
    env,
    async close() {
      await Promise.all([imds.close(), api.close(), asg.close(), sink.close()]);
      if (!options.dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Start a stack, run the handler in it with `env` added to the stack's own, run `body`, and
 * always clean both up.
 *
 * @example
 * ```ts
 * await withHandler({ imds: { scenario: { spot: {} } } }, {}, async (stack, handler) => {
 *   await handler.waitForLine(/notice handled/);
 * });
 * ```
 */
export async function withHandler(
  options: StackOptions,
  env: Record<string, string> | ((stack: Stack) => Record<string, string>),
  body: (stack: Stack, handler: HandlerProcess) => Promise<void>,
): Promise<void> {
  const stack = await startStack(options);
  const extra = typeof env === "function" ? env(stack) : env;
  const handler = spawnHandler({ kubeconfig: stack.kubeconfig, env: { ...stack.env, ...extra } });
  try {
    await body(stack, handler);
  } finally {
    await handler.stop();
    await stack.close();
  }
}
