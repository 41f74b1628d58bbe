/**
 * End to end: scheduled maintenance on time and the node's return, with main.ts as a subprocess
 * against the mock IMDS, the Kubernetes API stand-in and a webhook sink.
 */
import assert from "node:assert/strict";
import { demoPods } from "../tools/fake_apiserver.ts";
import { type MockMaintenanceEvent, sampleMaintenanceEvent } from "../tools/mock_imds.ts";
import { type HandlerProcess, spawnHandler } from "../tools/handler_process.ts";
import { type Stack, startStack } from "../tools/stack.ts";
import { waitFor } from "../tools/wait.ts";
import type { WebhookEventV1 } from "../lib/notify_webhook_event.ts";

const NODE = "ip-10-0-1-23.ec2.internal";
const LB = "node.kubernetes.io/exclude-from-external-load-balancers";
const KEY = "spot-termination-handler/scheduled-maintenance";

interface NodeObject {
  spec?: {
    unschedulable?: boolean;
    taints?: Array<{ key: string; value?: string; effect: string }>;
  };
  metadata: { annotations?: Record<string, string>; labels?: Record<string, string> };
}

function nodeOf(stack: Stack): NodeObject {
  return stack.api.node(NODE) as NodeObject;
}

function record(stack: Stack): { id: string; phase: string; wasUnschedulable?: boolean } {
  return JSON.parse(nodeOf(stack).metadata.annotations![KEY]);
}

function webhookEvents(stack: Stack): WebhookEventV1[] {
  return stack.sink.requests.filter((r) => r.path === "/webhook").map((r) => JSON.parse(r.body));
}

function finished(event: MockMaintenanceEvent, state: string): MockMaintenanceEvent {
  return { ...event, State: state, Description: `[${state}] ${event.Description}` };
}

async function cordonAsSomeoneElse(stack: Stack): Promise<void> {
  const response = await fetch(`${stack.api.url}/api/v1/nodes/${NODE}`, {
    method: "PATCH",
    headers: { "content-type": "application/merge-patch+json" },
    body: JSON.stringify({ spec: { unschedulable: true } }),
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
}

/**
 * Start the stack and a handler; `restart` replaces the handler with a new one (the scheduled
 * events path is polled once a minute, a new handler at once, as after a reboot).
 */
async function withRestartableHandler(
  event: MockMaintenanceEvent | undefined,
  body: (
    stack: Stack,
    handler: () => HandlerProcess,
    restart: (whileDown?: () => void) => Promise<void>,
  ) => Promise<void>,
  before?: (stack: Stack) => Promise<void>,
): Promise<void> {
  const stack = await startStack({
    node: NODE,
    api: { pods: demoPods(NODE) },
    imds: { scenario: event ? { maintenance: [event] } : {} },
  });
  let current: HandlerProcess | undefined;
  try {
    await before?.(stack);
    current = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    // What the reboot changes (boot ID, IMDS) changes while no handler runs, as on a real node:
    // a handler still running would see the new boot ID after its notice and return the node
    // itself, leaving the new one nothing to do.
    await body(stack, () => current!, async (whileDown) => {
      await current!.stop();
      whileDown?.();
      current = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    });
  } finally {
    await current?.stop();
    await stack.close();
  }
}

Deno.test("e2e: a canceled maintenance event is announced, never drained, and the cancel is told", async () => {
  const event = sampleMaintenanceEvent(Date.now(), 3_600_000);
  await withRestartableHandler(event, async (stack, handler, restart) => {
    await handler().waitForLine(/maintenance announced/);
    assert.equal(record(stack).phase, "announced");
    assert.notEqual(nodeOf(stack).spec?.unschedulable, true);

    stack.imds.setScenario({ maintenance: [finished(event, "canceled")] });
    await restart();
    await handler().waitForLine(/maintenance event over before its time/);
    await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
    const [notice, canceled] = webhookEvents(stack);
    assert.equal(notice.event, "notice");
    assert.equal(canceled.event, "canceled");
    assert.equal(canceled.state, "canceled");
    assert.equal(canceled.noticeId, `scheduled-maintenance:${event.EventId}`);
    assert.equal(record(stack).phase, "canceled");
    assert.notEqual(nodeOf(stack).spec?.unschedulable, true);
    assert.deepEqual(stack.api.evictions(), []);
    assert.deepEqual(nodeOf(stack).spec?.taints ?? [], []);
  });
});

Deno.test("e2e: a maintenance event rescheduled while the handler was down is announced again with its new time", async () => {
  const t0 = Date.now();
  const event = sampleMaintenanceEvent(t0, 3_600_000);
  await withRestartableHandler(event, async (stack, handler, restart) => {
    await handler().waitForLine(/maintenance announced/);
    const moved = sampleMaintenanceEvent(t0, 3 * 3_600_000);
    await restart(() => stack.imds.setScenario({ maintenance: [moved] }));
    await handler().waitForLine(/maintenance rescheduled/);
    await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
    const [first, again] = webhookEvents(stack);
    assert.equal(first.event, "notice");
    assert.equal(again.event, "notice");
    assert.equal(again.noticeId, first.noticeId, "the same event, at a new time");
    const lead = 15 * 60_000;
    assert.equal(Date.parse(again.actionAt!) - Date.parse(first.actionAt!), 2 * 3_600_000);
    assert.equal(Date.parse(again.actionAt!), Date.parse(again.noticeTime) - lead);
    assert.equal(record(stack).phase, "announced");
    assert.notEqual(nodeOf(stack).spec?.unschedulable, true, "still days early is never drained");

    // Seen again unchanged after another restart: nothing more is said.
    await restart();
    await handler().waitForLine(/maintenance announced.*again=true/);
    assert.equal(webhookEvents(stack).length, 2);
  });
});

Deno.test("e2e: after a completed maintenance event and a new boot ID the node is back in service", async () => {
  // Inside the default 15-minute lead: the handler acts at once.
  const event = sampleMaintenanceEvent(Date.now(), 120_000);
  await withRestartableHandler(event, async (stack, handler, restart) => {
    await handler().waitForLine(/notice handled/);
    const drained = nodeOf(stack);
    assert.equal(drained.spec?.unschedulable, true);
    assert.equal(drained.metadata.labels?.[LB], "true");
    await waitFor("the notice marked done", () => record(stack).phase === "done", {
      timeoutMs: 10_000,
    });
    assert.ok(stack.api.evictions().length > 0);

    // The instance rebooted for the event: a new boot ID, a new handler, the event completed.
    await restart(() => {
      stack.api.setBootId(NODE, "boot-after-maintenance");
      stack.imds.setScenario({ maintenance: [finished(event, "completed")] });
    });
    await handler().waitForLine(/node back in service/);
    const back = nodeOf(stack);
    assert.notEqual(back.spec?.unschedulable, true, "uncordoned");
    assert.deepEqual(back.spec?.taints ?? [], [], "our taint removed");
    assert.equal(back.metadata.labels?.[LB], undefined, "our label removed");
    assert.equal(record(stack).phase, "returned");
    await stack.sink.waitFor(3, { pathPrefix: "/webhook" });
    const returned = webhookEvents(stack).find((e) => e.event === "returned");
    assert.ok(returned, "a back-in-service message");
    assert.equal(returned.kind, "scheduled-maintenance");
    assert.equal(returned.returned?.uncordoned, true);
    assert.deepEqual(returned.returned?.removed, [
      "taint spot-termination-handler/notice",
      `label ${LB}`,
    ]);
  });
});

Deno.test("e2e: a node someone else cordoned stays cordoned when it comes back; only our marks go", async () => {
  const event = sampleMaintenanceEvent(Date.now(), 120_000);
  await withRestartableHandler(event, async (stack, handler, restart) => {
    await handler().waitForLine(/notice handled/);
    await waitFor("the notice marked done", () => record(stack).phase === "done", {
      timeoutMs: 10_000,
    });
    assert.equal(record(stack).wasUnschedulable, true);

    await restart(() => {
      stack.api.setBootId(NODE, "boot-after-maintenance");
      stack.imds.setScenario({ maintenance: [finished(event, "completed")] });
    });
    await handler().waitForLine(/node back in service/);
    const back = nodeOf(stack);
    assert.equal(back.spec?.unschedulable, true, "left cordoned");
    assert.deepEqual(back.spec?.taints ?? [], []);
    assert.equal(back.metadata.labels?.[LB], undefined);
    await stack.sink.waitFor(3, { pathPrefix: "/webhook" });
    const returned = webhookEvents(stack).find((e) => e.event === "returned");
    assert.equal(returned?.returned?.uncordoned, false);
  }, cordonAsSomeoneElse);
});

Deno.test("e2e: a spot stop's node is returned by the handler that starts after the reboot", async () => {
  const stack = await startStack({
    node: NODE,
    api: { pods: demoPods(NODE) },
    imds: { scenario: { spot: { action: "stop", afterMs: 300 } } },
  });
  let handler;
  try {
    handler = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    await handler.waitForLine(/notice handled/);
    assert.equal(nodeOf(stack).spec?.unschedulable, true);
    await handler.stop();

    // The instance stopped and started: a new boot, and IMDS no longer lists the interruption.
    stack.imds.setScenario({});
    stack.api.setBootId(NODE, "boot-after-start");
    handler = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    await handler.waitForLine(/node back in service/);
    const back = nodeOf(stack);
    assert.notEqual(back.spec?.unschedulable, true);
    assert.deepEqual(back.spec?.taints ?? [], []);
    assert.equal(back.metadata.labels?.[LB], undefined);
    const state = JSON.parse(
      back.metadata.annotations!["spot-termination-handler/spot-interruption"],
    );
    assert.equal(state.phase, "returned");
    const returned = (await stack.sink.waitFor(3, { pathPrefix: "/webhook" }))
      .map((r) => JSON.parse(r.body) as WebhookEventV1)
      .find((e) => e.event === "returned");
    assert.equal(returned?.action, "stop");
    assert.equal(returned?.returned?.why, "rebooted");
  } finally {
    await handler?.stop();
    await stack.close();
  }
});
