/**
 * End to end: main.ts as a subprocess, with the shipped permission flags, against the mock IMDS,
 * the Kubernetes API stand-in, the Auto Scaling stand-in and a webhook sink. One test per notice
 * kind, asserted on the stand-ins' state and the messages received.
 */
import assert from "node:assert/strict";
import { DEMO_HANDLER_POD, demoPods } from "../tools/fake_apiserver.ts";
import { formatNoticeTime, sampleMaintenanceEvent } from "../tools/mock_imds.ts";
import { withHandler } from "../tools/stack.ts";
import type { WebhookEventV1 } from "../lib/notify_webhook_event.ts";

const NODE = "ip-10-0-1-23.ec2.internal";
const EVICTABLE = [
  "default/cache-0",
  "default/payments-6c9d8f5b7-r2d2x",
  "default/web-5d8f7b9c4d-k2x9p",
  "default/web-5d8f7b9c4d-m4q7z",
  "default/web-5d8f7b9c4d-t8w3n",
];

interface NodeObject {
  spec?: {
    unschedulable?: boolean;
    taints?: Array<{ key: string; value?: string; effect: string }>;
  };
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
}

function events(requests: { path: string; body: string }[]): WebhookEventV1[] {
  return requests.filter((r) => r.path === "/webhook").map((r) => JSON.parse(r.body));
}

/**
 * The start and result messages, exactly one each, unless the handler itself logged that the
 * start message's delivery was retried (on a loaded machine an answer can come after the
 * attempt's timeout, and delivery is at least once): then as many identical copies as attempts.
 */
function startAndResult(requests: { path: string; body: string }[], log: readonly string[]) {
  const all = events(requests);
  const starts = all.filter((e) => e.event === "notice");
  const results = all.filter((e) => e.event === "result");
  const retried = log.map((l) =>
    /notification sent target=webhook phase=start attempts=(\d+)/.exec(l)
  )
    .find((m) => m !== null);
  const allowed = retried ? Number(retried[1]) : 1;
  assert.ok(
    starts.length >= 1 && starts.length <= allowed && results.length === 1,
    `start (at most ${allowed}) and one result: ${JSON.stringify(all)}`,
  );
  for (const s of starts) assert.deepEqual(s, starts[0], "a repeated start message is a retry");
  assert.ok(all.indexOf(starts[0]) < all.indexOf(results[0]), "the start comes first");
  return [starts[0], results[0]] as const;
}

Deno.test("e2e: a spot interruption cordons, taints, drains, detaches and notifies two targets", async () => {
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { spot: { action: "terminate", afterMs: 300 } } },
    },
    (stack) => ({
      POD_NAME: DEMO_HANDLER_POD.name,
      NAMESPACE: DEMO_HANDLER_POD.namespace,
      CLUSTER: "prod-eu",
      DETACH_ASG: "true",
      GRACE_PERIOD: "25",
      SLACK_URL: `${stack.sink.url}/slack/T000/B000/secret-token`,
      SLACK_CHANNEL: "#ops",
    }),
    async (stack, handler) => {
      await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
      await stack.sink.waitFor(2, { pathPrefix: "/slack" });
      await handler.waitForLine(/notice handled/);

      const node = stack.api.node(NODE) as NodeObject;
      assert.equal(node.spec?.unschedulable, true);
      assert.deepEqual(node.spec?.taints, [{
        key: "spot-termination-handler/notice",
        value: "spot-interruption",
        effect: "NoSchedule",
      }]);
      const state = JSON.parse(
        node.metadata.annotations!["spot-termination-handler/spot-interruption"],
      );
      assert.equal(state.phase, "done");
      assert.equal(
        node.metadata.labels?.["node.kubernetes.io/exclude-from-external-load-balancers"],
        "true",
        "the node leaves external load balancers with the cordon",
      );
      assert.equal(state.lbLabelAdded, true);

      // The drain goes over the fetch client (its listing pages with `limit`); client-node's
      // import would cost the drain 0.4–0.9 s and 83 MiB.
      const listing = stack.api.requests.find((r) => r.verb === "list" && r.resource === "pods");
      assert.match(listing?.path ?? "", /[?&]limit=100(&|$)/);

      const evictions = stack.api.evictions();
      assert.deepEqual(
        [...new Set(evictions.map((e) => `${e.namespace}/${e.name}`))].sort(),
        EVICTABLE,
      );
      assert.ok(evictions.every((e) => e.gracePeriodSeconds === 25), "GRACE_PERIOD honoured");

      const detach = stack.asg.requests.find((r) => r.action === "DetachInstances");
      assert.ok(detach, "DetachInstances called");
      assert.equal(detach.params.AutoScalingGroupName, "spot-workers");
      assert.equal(detach.params["InstanceIds.member.1"], "i-1234567890abcdef0");
      assert.equal(detach.params.ShouldDecrementDesiredCapacity, "false");

      const [start, result] = startAndResult(stack.sink.requests, handler.lines);
      assert.equal(start.event, "notice");
      assert.equal(start.kind, "spot-interruption");
      assert.equal(start.cluster, "prod-eu");
      assert.equal(start.node, NODE);
      assert.equal(start.instanceId, "i-1234567890abcdef0");
      assert.deepEqual(start.plan, ["cordon", "taint", "drain", "detach-asg"]);
      assert.equal(result.event, "result");
      assert.deepEqual([...result.result!.evicted].sort(), EVICTABLE);
      assert.deepEqual(result.result!.remaining, []);
      assert.equal(result.result!.asg?.status, "detached");
      assert.ok(result.result!.skipped.some((s) => s.pod === "kube-system/kube-proxy-7bq4s"));

      const slack = stack.sink.requests.filter((r) => r.path.startsWith("/slack"));
      assert.match(slack[0].contentType, /application\/x-www-form-urlencoded/);
      const payload = JSON.parse(new URLSearchParams(slack[0].body).get("payload")!);
      assert.equal(payload.channel, "#ops");
      assert.equal(payload.attachments[0].title, ":warning: Spot Termination (prod-eu)");
      assert.equal(payload.attachments[0].color, "danger");

      const log = handler.lines.join("\n");
      assert.ok(!log.includes("secret-token"), "the Slack URL never reaches the log");
      assert.match(
        log,
        /Polling http:\/\/127\.0\.0\.1:\d+\/latest\/meta-data\/spot\/instance-action every 0\.2 second\(s\)/,
      );
    },
  );
});

Deno.test("e2e: a rebalance recommendation only notifies by default", async () => {
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { rebalance: { afterMs: 200 } } },
    },
    { NODE_NAME: NODE },
    async (stack, handler) => {
      await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
      await handler.waitForLine(/notice handled/);
      const node = stack.api.node(NODE) as NodeObject;
      assert.notEqual(node.spec?.unschedulable, true);
      assert.deepEqual(node.spec?.taints ?? [], []);
      assert.deepEqual(stack.api.evictions(), []);
      const [start, result] = startAndResult(stack.sink.requests, handler.lines);
      assert.equal(start.kind, "rebalance-recommendation");
      assert.deepEqual(start.plan, []);
      assert.equal(result.result!.drained, false);
    },
  );
});

Deno.test("e2e: REBALANCE_ACTION=cordon cordons on a rebalance recommendation without draining", async () => {
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { rebalance: { afterMs: 200 } } },
    },
    { REBALANCE_ACTION: "cordon" },
    async (stack, handler) => {
      await handler.waitForLine(/notice handled/);
      assert.equal((stack.api.node(NODE) as NodeObject).spec?.unschedulable, true);
      assert.deepEqual(stack.api.evictions(), []);
    },
  );
});

Deno.test("e2e: scheduled maintenance is announced at once and drained from NotBefore minus MAINTENANCE_LEAD", async () => {
  // NotBefore 70 s out with a one-minute lead: the action is due about 10 s after start-up.
  const event = sampleMaintenanceEvent(Date.now(), 70_000);
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { maintenance: [event] } },
    },
    { MAINTENANCE_LEAD: "1m" },
    async (stack, handler) => {
      await handler.waitForLine(/maintenance announced/);
      const announced = stack.api.node(NODE) as NodeObject;
      assert.notEqual(announced.spec?.unschedulable, true, "nothing cordoned before the lead");
      assert.deepEqual(stack.api.evictions(), []);
      const state = JSON.parse(
        announced.metadata.annotations!["spot-termination-handler/scheduled-maintenance"],
      );
      assert.equal(state.phase, "announced");
      await stack.sink.waitFor(1, { pathPrefix: "/webhook" });
      const [start] = events(stack.sink.requests);
      assert.equal(start.event, "notice");
      assert.equal(start.kind, "scheduled-maintenance");
      assert.equal(start.action, "system-reboot");
      assert.equal(start.noticeTime, new Date(event.NotBefore).toISOString());
      assert.equal(start.notAfter, new Date(event.NotAfter!).toISOString());
      assert.equal(
        start.actionAt,
        new Date(new Date(event.NotBefore).getTime() - 60_000).toISOString(),
      );

      await handler.waitForLine(/notice handled/, 60_000);
      assert.equal((stack.api.node(NODE) as NodeObject).spec?.unschedulable, true);
      const evicted = new Set(stack.api.evictions().map((e) => `${e.namespace}/${e.name}`));
      assert.deepEqual([...evicted].sort(), EVICTABLE);
      await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
      assert.deepEqual(events(stack.sink.requests).map((e) => e.event), ["notice", "result"]);
    },
  );
});

Deno.test("e2e: an ASG target lifecycle state of Terminated drains the node", async () => {
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { lifecycleState: "Terminated" } },
    },
    { DETACH_ASG: "true" },
    async (stack, handler) => {
      await handler.waitForLine(/notice handled/);
      assert.equal((stack.api.node(NODE) as NodeObject).spec?.unschedulable, true);
      assert.equal(new Set(stack.api.evictions().map((e) => e.name)).size, EVICTABLE.length);
      assert.ok(
        !stack.asg.requests.some((r) => r.action === "DetachInstances"),
        "the group is already replacing the instance",
      );
      assert.equal(events(stack.sink.requests)[0].kind, "asg-termination");
    },
  );
});

Deno.test("e2e: a PodDisruptionBudget that never allows eviction is reported at the deadline", async () => {
  const pods = demoPods(NODE).map((p) =>
    p.name.startsWith("payments") ? { ...p, pdbBlocks: Infinity } : p
  );
  await withHandler(
    { node: NODE, api: { pods } },
    {},
    async (stack, handler) => {
      // The notice is served only once the handler is up, so a slow start on a busy machine does
      // not eat the deadline: 15 s out gives a deadline 10 s out (5 s safety margin), room for the
      // lazy client import (seconds on a loaded 2-core machine) and several retries.
      await handler.waitForLine(/instance identity/);
      const time = formatNoticeTime(new Date(Date.now() + 15_000));
      stack.imds.setScenario({ spot: { action: "terminate", time } });
      await stack.sink.waitFor(2, { pathPrefix: "/webhook", timeoutMs: 30_000 });
      await handler.waitForLine(/notice handled/);
      const [, result] = startAndResult(stack.sink.requests, handler.lines);
      assert.equal(result.result!.evicted.length, EVICTABLE.length - 1);
      assert.deepEqual(result.result!.remaining.map((r) => r.pod), [
        "default/payments-6c9d8f5b7-r2d2x",
      ]);
      assert.match(result.result!.remaining[0].reason, /PodDisruptionBudget/);
      const refusals = stack.api.requests.filter((r) =>
        r.subresource === "eviction" && r.name?.startsWith("payments") && r.status === 429
      );
      assert.ok(refusals.length >= 2, `retried the blocked eviction (${refusals.length} tries)`);
      const last = Math.max(...refusals.map((r) => r.at));
      assert.ok(
        last <= new Date(time).getTime() - 5000 + 1500,
        "no retries long after the deadline",
      );
    },
  );
});

Deno.test("e2e: DRY_RUN changes nothing and notifies what would be done", async () => {
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { spot: { afterMs: 200 } } },
    },
    { DRY_RUN: "true", DETACH_ASG: "true" },
    async (stack) => {
      const [start, result] = (await stack.sink.waitFor(2, { pathPrefix: "/webhook" })).map((r) =>
        JSON.parse(r.body) as WebhookEventV1
      );
      assert.equal(start.dryRun, true);
      assert.equal(result.result!.asg?.status, "dry-run");
      assert.equal(result.result!.drained, false, "a preview is not a drain");
      assert.equal(result.result!.drain?.status, "dry-run");
      assert.deepEqual([...result.result!.wouldEvict!].sort(), EVICTABLE);
      // Access reviews only ask; they change nothing.
      const writes = stack.api.requests.filter((r) =>
        !["get", "list", "watch"].includes(r.verb) && r.resource !== "selfsubjectaccessreviews"
      );
      assert.deepEqual(writes, []);
      assert.ok(!stack.asg.requests.some((r) => r.action === "DetachInstances"));
    },
  );
});
