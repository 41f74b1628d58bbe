/**
 * The local stack the demo, the end-to-end tests and the benchmarks run the real handler in:
 * mock IMDS + Kubernetes API stand-in + Auto Scaling stand-in + webhook sink; the handler itself
 * runs through tools/handler_process.ts.
 *
 * @module
 */

import {
  type FakeApiServer,
  type FakeApiServerOptions,
  startFakeApiServer,
} from "./fake_apiserver.ts";
import { type FakeAutoScaling, startFakeAutoScaling } from "./fake_autoscaling.ts";
import { type HandlerProcess, spawnHandler } from "./handler_process.ts";
import {
  DEFAULT_IDENTITY,
  type MockImds,
  type MockImdsOptions,
  startMockImds,
} from "./mock_imds.ts";
import { startWebhookSink, type WebhookSink } from "./webhook_sink.ts";

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
