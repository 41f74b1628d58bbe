/**
 * `deno task demo`: a whole spot interruption handled on this machine in a few seconds. Starts
 * the mock IMDS (notice after 2 s), the Kubernetes API stand-in with a realistic node, the Auto
 * Scaling stand-in and a webhook sink, runs the real `main.ts` against them with the shipped
 * permissions, and prints what an operator would see.
 *
 * @module
 */

import { noArguments } from "./cli.ts";
import { DEMO_HANDLER_POD, demoPods } from "./fake_apiserver.ts";
import { spawnHandler } from "./handler_process.ts";
import { startStack } from "./stack.ts";

noArguments("demo.ts", Deno.args);

const NODE = "ip-10-0-1-23.ec2.internal";
const NOTICE_AFTER_MS = 2000;

interface PodObject {
  metadata: { namespace: string; name: string };
}
interface NodeObject {
  spec?: {
    unschedulable?: boolean;
    taints?: Array<{ key: string; value?: string; effect: string }>;
  };
}

const started = performance.now();
const stack = await startStack({
  node: NODE,
  api: { pods: demoPods(NODE), deleteAfterMs: 300 },
  imds: { scenario: { spot: { action: "terminate", afterMs: NOTICE_AFTER_MS } } },
});
const before = (stack.api.pods() as PodObject[]).map((p) =>
  `${p.metadata.namespace}/${p.metadata.name}`
);

console.log("spot-termination-handler demo: everything below runs on 127.0.0.1\n");
console.log(
  `  mock IMDS        ${stack.imds.url}  (spot interruption in ${NOTICE_AFTER_MS / 1000} s)`,
);
console.log(`  Kubernetes API   ${stack.api.url}  (node ${NODE}, ${before.length} pods)`);
console.log(`  Auto Scaling API ${stack.asg.url}  (group spot-workers)`);
console.log(`  webhook sink     ${stack.sink.url}  (Slack + generic JSON webhook)\n`);
console.log("$ kubectl logs -n kube-system spot-termination-handler-xxxxx");

const handler = spawnHandler({
  kubeconfig: stack.kubeconfig,
  env: {
    ...stack.env,
    POLL_INTERVAL: "1",
    POD_NAME: DEMO_HANDLER_POD.name,
    NAMESPACE: DEMO_HANDLER_POD.namespace,
    CLUSTER: "demo",
    DETACH_ASG: "true",
    SLACK_URL: `${stack.sink.url}/slack`,
    SLACK_CHANNEL: "#ops",
  },
  onLine: (line) => console.log(`  ${line}`),
});

let ok = true;
try {
  await stack.sink.waitFor(2, { pathPrefix: "/webhook", timeoutMs: 30_000 });
  await handler.waitForLine(/notice handled/, 10_000);
} catch (error) {
  ok = false;
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : error}`);
}
await handler.stop();

const node = stack.api.node(NODE) as NodeObject;
const after = new Set(
  (stack.api.pods() as PodObject[]).map((p) => `${p.metadata.namespace}/${p.metadata.name}`),
);
const evicted = stack.api.evictions().map((e) => `${e.namespace}/${e.name}`);
console.log("\n$ kubectl get node", NODE);
console.log(
  `  unschedulable: ${node.spec?.unschedulable === true}   taints: ${
    (node.spec?.taints ?? []).map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`).join(", ") ||
    "none"
  }`,
);
console.log(`\nevicted (${new Set(evicted).size}):`);
for (const p of new Set(evicted)) console.log(`  ${p}`);
console.log(`left on the node (${after.size}):`);
for (const p of after) console.log(`  ${p}`);
const detached = stack.asg.requests.some((r) => r.action === "DetachInstances");
console.log(`\nAuto Scaling: ${detached ? "instance detached from spot-workers" : "no detach"}`);
console.log("messages received:");
for (const r of stack.sink.requests) {
  const summary = r.path === "/webhook"
    ? (() => {
      const m = JSON.parse(r.body);
      return `${m.event} ${m.kind}${m.result ? `: ${m.result.evicted?.length ?? 0} evicted` : ""}`;
    })()
    : `${r.contentType.split(";")[0]}, ${r.body.length} bytes`;
  console.log(`  ${r.method} ${r.path}  ${summary}`);
}
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
await stack.close();
if (!ok) Deno.exit(1);
