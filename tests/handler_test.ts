import assert from "node:assert/strict";
import { createHandler } from "../lib/handler.ts";
import type { HandlerDeps, HandlerOptions } from "../lib/handler_context.ts";
import {
  annotationKey,
  handledStateValue,
  LB_EXCLUSION_LABEL,
  parseHandledState,
  TAINT_KEY,
  withTaint,
} from "../lib/handler_state.ts";
import type { Kube, NodeInfo, PodInfo, Taint } from "../lib/kube.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import type { Notice, NoticeKind } from "../lib/notice.ts";
import type { Message } from "../lib/notify_message.ts";
import type { Notifier } from "../lib/notify.ts";
import type { AsgResult, DrainResult } from "../lib/report.ts";
import { KubeError } from "../lib/kube_errors.ts";
import { DEFAULT_ACTIONS } from "../lib/policy.ts";
import { applyNodePatch } from "./fixtures/node_patch.ts";
import type { Scheduler } from "../lib/maintenance.ts";

const NOW = new Date("2026-11-25T10:00:00Z");

function notice(kind: NoticeKind = "spot-interruption", action = "terminate"): Notice {
  return {
    id: `${kind}:2026-11-25T10:02:00Z`,
    kind,
    action,
    noticeTime: new Date("2026-11-25T10:02:00Z"),
    deadline: new Date("2026-11-25T10:01:55Z"),
    raw: "{}",
  };
}

function fakeKube(
  options: { failPatch?: number; patchStatus?: number; pods?: PodInfo[]; bootId?: string } = {},
) {
  const node: NodeInfo = {
    name: "n1",
    unschedulable: false,
    annotations: {},
    labels: {},
    taints: [{ key: "other", effect: "NoExecute" }],
    ...(options.bootId ? { bootId: options.bootId } : {}),
  };
  const calls: string[] = [];
  let failPatch = options.failPatch ?? 0;
  const kube: Kube = {
    getNode(name) {
      calls.push(`getNode ${name}`);
      return Promise.resolve(structuredClone(node));
    },
    patchNode(name, patch) {
      calls.push(`patchNode ${name} ${JSON.stringify(patch)}`);
      if (failPatch-- > 0) {
        return Promise.reject(
          options.patchStatus
            ? new KubeError(`patch node n1: ${options.patchStatus}`, {
              status: options.patchStatus,
            })
            : new Error("patch node n1: 500"),
        );
      }
      applyNodePatch(node, patch);
      return Promise.resolve();
    },
    getPod(ref) {
      calls.push(`getPod ${ref.namespace}/${ref.name}`);
      return Promise.resolve(
        ref.name === "sth-own"
          ? {
            namespace: ref.namespace,
            name: ref.name,
            uid: "u",
            nodeName: "n-from-pod",
            ownerKinds: ["DaemonSet"],
            isMirror: false,
            hasEmptyDir: false,
          }
          : null,
      );
    },
    listPodsOnNode(name) {
      calls.push(`listPods ${name}`);
      return Promise.resolve(options.pods ?? []);
    },
    evictPod() {
      return Promise.resolve({ status: "evicted" as const });
    },
    createNodeEvent(name, event) {
      calls.push(`event ${name} ${event.reason}`);
      return Promise.resolve();
    },
    canI() {
      return Promise.resolve({ allowed: true });
    },
  };
  return { kube, node, calls };
}

function fakeNotifier(targets = ["webhook"]) {
  const sent: Message[] = [];
  const notifier: Notifier = {
    targets,
    send(message) {
      sent.push(message);
      return Promise.resolve(targets.map((target) => ({ target, ok: true, attempts: 1 })));
    },
  };
  return { notifier, sent };
}

const DRAINED: DrainResult = {
  evicted: ["default/web-1"],
  remaining: [],
  failed: [],
  skipped: [{ pod: "kube-system/ds-1", reason: "DaemonSet" }],
};

/**
 * A handler over fakes for the tests that replace one dependency: the fake node's API, a
 * drainer that must not run, one webhook target, no IMDS; `deps` and `options` override.
 */
function bareHandler(deps: Partial<HandlerDeps> = {}, options: Partial<HandlerOptions> = {}) {
  const k = fakeKube();
  const n = fakeNotifier();
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const handler = createHandler({
    kubeCore: () => Promise.resolve(k.kube),
    kube: () => Promise.resolve(k.kube),
    drainer: () => {
      throw new Error("must not drain");
    },
    notifier: n.notifier,
    identity: () => Promise.reject(new Error("IMDS down")),
    logger,
    metrics,
    ...deps,
  }, { nodeName: "n1", dryRun: false, actions: DEFAULT_ACTIONS, detachAsg: false, ...options });
  return { handler, ...k, ...n, logger, metrics };
}

function setup(
  options: Partial<HandlerOptions> = {},
  kubeOptions: Parameters<typeof fakeKube>[0] = {},
  extraDeps: Partial<HandlerDeps> = {},
) {
  const k = fakeKube(kubeOptions);
  const n = fakeNotifier();
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const drains: Array<{ node: string; gracePeriodSeconds?: number; deadline: Date }> = [];
  const detaches: Array<{ region: string; id: string; dryRun?: boolean }> = [];
  let t = NOW.getTime();
  const handler = createHandler({
    kubeCore: () => Promise.resolve(k.kube),
    kube: () => Promise.resolve(k.kube),
    drainer: () => ({
      drain(node, o) {
        drains.push({ node, gracePeriodSeconds: o.gracePeriodSeconds, deadline: o.deadline });
        return Promise.resolve(DRAINED);
      },
    }),
    asg: (region) => ({
      detach(id, o) {
        detaches.push({ region, id, dryRun: o?.dryRun });
        return Promise.resolve<AsgResult>({
          status: o?.dryRun ? "dry-run" : "detached",
          group: "asg-1",
        });
      },
    }),
    notifier: n.notifier,
    identity: () =>
      Promise.resolve({
        instanceId: "i-1",
        instanceType: "m5.large",
        availabilityZone: "us-east-1a",
        region: "us-east-1",
      }),
    logger,
    metrics,
    now: () => new Date(t),
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
    ...extraDeps,
  }, {
    nodeName: "n1",
    dryRun: false,
    actions: DEFAULT_ACTIONS,
    detachAsg: true,
    ...options,
  });
  return { handler, ...k, ...n, logger, metrics, drains, detaches };
}

Deno.test("handler cordons, taints, drains, detaches and sends start then result", async () => {
  const s = setup({ gracePeriodSeconds: 20 });
  const report = await s.handler.handle(notice());
  assert.equal(s.node.unschedulable, true);
  assert.deepEqual(s.node.taints, [
    { key: "other", effect: "NoExecute" },
    { key: TAINT_KEY, value: "spot-interruption", effect: "NoSchedule" },
  ]);
  assert.equal(
    JSON.parse(s.node.annotations[annotationKey("spot-interruption")]).phase,
    "done",
  );
  assert.deepEqual(s.drains, [{
    node: "n1",
    gracePeriodSeconds: 20,
    deadline: new Date("2026-11-25T10:01:55Z"),
  }]);
  assert.deepEqual(s.detaches, [{ region: "us-east-1", id: "i-1", dryRun: undefined }]);
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  assert.deepEqual(s.sent[0].plan, ["cordon", "taint", "drain", "detach-asg"]);
  assert.equal(s.sent[0].context.instanceId, "i-1");
  assert.deepEqual(report, {
    cordon: { status: "cordoned" },
    drain: { status: "drained", ...DRAINED },
    asg: { status: "detached", group: "asg-1" },
  });
  const result = s.sent[1];
  assert.equal(result.phase, "result");
  if (result.phase === "result") assert.deepEqual(result.report, report);
  assert.equal(s.metrics.get("sth_notices_total", { kind: "spot-interruption" }), 1);
  assert.ok(s.calls.some((c) => c.startsWith("event n1 SpotTerminationNotice")));
});

Deno.test("handler cordons with one patch before the drain starts", async () => {
  const s = setup();
  await s.handler.handle(notice());
  const patches = s.calls.filter((c) => c.startsWith("patchNode"));
  assert.equal(patches.length, 2, "one cordon patch, one 'done' annotation");
  const first = JSON.parse(patches[0].slice("patchNode n1 ".length));
  assert.equal(first.unschedulable, true);
  assert.equal(JSON.parse(first.annotations[annotationKey("spot-interruption")]).phase, "started");
});

Deno.test("handler skips a notice a previous run finished", async () => {
  const s = setup();
  s.node.annotations[annotationKey("spot-interruption")] = JSON.stringify({
    id: notice().id,
    phase: "done",
    at: NOW.toISOString(),
  });
  assert.equal(await s.handler.handle(notice()), undefined);
  assert.equal(s.sent.length, 0);
  assert.equal(s.drains.length, 0);
  assert.ok(s.logger.lines.some((l) => l.includes("already handled")));
});

Deno.test("handler resumes a notice a previous run started without re-sending the start message", async () => {
  const s = setup();
  s.node.annotations[annotationKey("spot-interruption")] = JSON.stringify({
    id: notice().id,
    phase: "started",
    at: NOW.toISOString(),
  });
  await s.handler.handle(notice());
  assert.equal(s.drains.length, 1);
  assert.deepEqual(s.sent.map((m) => m.phase), ["result"]);
});

Deno.test("handler sends the result before marking the notice done: a crash between repeats it, never loses it", async () => {
  const s = setup();
  const key = annotationKey("spot-interruption");
  const seen: string[] = [];
  const send = s.notifier.send.bind(s.notifier);
  s.notifier.send = (message, options) => {
    const value = s.node.annotations[key];
    seen.push(`${message.phase} while ${value ? JSON.parse(value).phase : "unmarked"}`);
    return send(message, options);
  };
  await s.handler.handle(notice());
  // The start message does not wait for any Kubernetes write; the result precedes "done".
  assert.deepEqual(seen, ["start while unmarked", "result while started"]);
  assert.equal(JSON.parse(s.node.annotations[key]).phase, "done");
});

Deno.test("handler handles a new notice of a kind handled before for another id", async () => {
  const s = setup();
  s.node.annotations[annotationKey("spot-interruption")] = JSON.stringify({
    id: "spot-interruption:older",
    phase: "done",
    at: NOW.toISOString(),
  });
  await s.handler.handle(notice());
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
});

Deno.test("handler only notifies on a rebalance recommendation by default", async () => {
  const s = setup();
  const report = await s.handler.handle(notice("rebalance-recommendation", "rebalance"));
  assert.deepEqual(report, {});
  assert.equal(s.node.unschedulable, false);
  assert.equal(s.drains.length, 0);
  assert.equal(s.detaches.length, 0);
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  assert.ok(s.node.annotations[annotationKey("rebalance-recommendation")], "remembered");
});

Deno.test("a rebalance recommendation loads the AWS SDK early only when a spot notice would detach", async () => {
  const warmed: string[] = [];
  const warmAsg = (label: string) => () => {
    warmed.push(label);
    return Promise.resolve();
  };
  await setup({}, {}, { warmAsg: warmAsg("default") }).handler.handle(
    notice("rebalance-recommendation", "rebalance"),
  );
  await setup({}, {}, { warmAsg: warmAsg("spot notice") }).handler.handle(notice());
  await setup({}, {}, { warmAsg: warmAsg("no DETACH_ASG"), asg: undefined }).handler.handle(
    notice("rebalance-recommendation", "rebalance"),
  );
  await setup(
    { actions: { ...DEFAULT_ACTIONS, "spot-interruption": "notify" } },
    {},
    { warmAsg: warmAsg("SPOT_ACTION=notify") },
  ).handler.handle(notice("rebalance-recommendation", "rebalance"));
  const failing = setup({}, {}, { warmAsg: () => Promise.reject(new Error("no registry")) });
  const report = await failing.handler.handle(notice("rebalance-recommendation", "rebalance"));
  assert.deepEqual(warmed, ["default"]);
  assert.ok(report, "a failed preload changes nothing; the detach imports again");
});

Deno.test("handler starts loading the full client at a rebalance recommendation, before reading the node, without waiting for it", async () => {
  const k = fakeKube();
  const order: string[] = [];
  const handler = createHandler({
    kubeCore: () => {
      order.push("kubeCore");
      return Promise.resolve(k.kube);
    },
    // An import that never finishes: handling the recommendation must not wait for it.
    kube: () => {
      order.push("kube");
      return new Promise(() => {});
    },
    drainer: () => {
      throw new Error("no drain on a recommendation");
    },
    notifier: fakeNotifier().notifier,
    identity: () => Promise.reject(new Error("no IMDS here")),
    logger: createMemoryLogger(),
  }, { nodeName: "n1", dryRun: false, actions: DEFAULT_ACTIONS, detachAsg: false });
  const report = await handler.handle(notice("rebalance-recommendation", "rebalance"));
  assert.deepEqual(report, {});
  assert.equal(order[0], "kube", `the import starts first: ${order}`);
  assert.ok(order.includes("kubeCore"), "the node is still read with the small client");
});

Deno.test("handler does not load the full client before the cordon of a spot notice", async () => {
  const s = setup({ detachAsg: false });
  const order: string[] = [];
  const handler = createHandler({
    kubeCore: () => {
      order.push("kubeCore");
      return Promise.resolve(s.kube);
    },
    kube: () => {
      order.push("kube");
      return Promise.resolve(s.kube);
    },
    drainer: () => ({ drain: () => Promise.resolve(DRAINED) }),
    notifier: s.notifier,
    identity: () => Promise.reject(new Error("no IMDS here")),
    logger: createMemoryLogger(),
  }, { nodeName: "n1", dryRun: false, actions: DEFAULT_ACTIONS, detachAsg: false });
  await handler.handle(notice());
  assert.equal(order[0], "kubeCore", `the cordon's small client comes first: ${order}`);
  assert.ok(order.includes("kube"), "the drain loads the full client");
});

Deno.test("handler cordons without draining when REBALANCE_ACTION=cordon", async () => {
  const s = setup({ actions: { ...DEFAULT_ACTIONS, "rebalance-recommendation": "cordon" } });
  await s.handler.handle(notice("rebalance-recommendation", "rebalance"));
  assert.equal(s.node.unschedulable, true);
  assert.equal(s.drains.length, 0);
});

Deno.test("handler in dry run changes nothing but reports what it would do", async () => {
  const pods: PodInfo[] = [
    {
      namespace: "default",
      name: "web-1",
      uid: "1",
      ownerKinds: ["ReplicaSet"],
      isMirror: false,
      hasEmptyDir: false,
      phase: "Running",
    },
    {
      namespace: "kube-system",
      name: "ds-1",
      uid: "2",
      ownerKinds: ["DaemonSet"],
      isMirror: false,
      hasEmptyDir: false,
      phase: "Running",
    },
  ];
  const s = setup({ dryRun: true }, { pods });
  const report = await s.handler.handle(notice());
  assert.equal(s.calls.filter((c) => c.startsWith("patchNode")).length, 0);
  assert.equal(s.calls.filter((c) => c.startsWith("event")).length, 0);
  assert.equal(s.drains.length, 0);
  assert.deepEqual(s.detaches, [{ region: "us-east-1", id: "i-1", dryRun: true }]);
  assert.deepEqual(report!.drain, {
    status: "dry-run",
    wouldEvict: ["default/web-1"],
    skipped: [{ pod: "kube-system/ds-1", reason: "DaemonSet pod" }],
  });
  assert.deepEqual(s.sent.map((m) => [m.phase, m.dryRun]), [["start", true], ["result", true]]);
});

Deno.test("handler retries a failing cordon patch until it works", async () => {
  const s = setup({}, { failPatch: 2 });
  await s.handler.handle(notice());
  assert.equal(s.node.unschedulable, true);
  assert.equal(s.calls.filter((c) => c.startsWith("patchNode")).length, 4);
  assert.ok(s.logger.lines.some((l) => l.includes("retrying until the deadline")));
});

Deno.test("handler still drains and notifies when the cordon never succeeds", async () => {
  const s = setup({}, { failPatch: 1000 });
  await s.handler.handle(notice());
  assert.equal(s.node.unschedulable, false);
  assert.equal(s.drains.length, 1);
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  assert.ok(s.logger.lines.some((l) => l.includes("could not cordon")));
});

Deno.test("handler notifies even when the Kubernetes API cannot be reached", async () => {
  let t = NOW.getTime();
  const { handler, sent, logger } = bareHandler({
    kubeCore: () => Promise.reject(new Error("connect ECONNREFUSED")),
    kube: () => Promise.reject(new Error("connect ECONNREFUSED")),
    now: () => new Date(t),
    sleep: (ms) => {
      t += ms;
      return Promise.resolve();
    },
  });
  const report = await handler.handle(notice());
  assert.deepEqual(sent.map((m) => m.phase), ["start", "result"]);
  assert.equal(sent[0].context.instanceId, "unknown");
  assert.equal(report!.drain!.status, "not-run");
  assert.equal(report!.drain!.status === "not-run" && report!.drain!.reason, "api-unreachable");
  assert.ok(logger.lines.some((l) => l.includes("Kubernetes API unreachable")));
});

Deno.test("handler finds its node from its own pod when NODE_NAME is unset", async () => {
  const s = setup({ nodeName: undefined, ownPod: { namespace: "kube-system", name: "sth-own" } });
  assert.equal(await s.handler.nodeName(), "n-from-pod");
  await s.handler.handle(notice());
  assert.deepEqual(s.drains.map((d) => d.node), ["n-from-pod"]);
});

Deno.test("handler settled waits for notices in flight", async () => {
  const s = setup();
  const p = s.handler.handle(notice());
  await s.handler.settled();
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  await p;
});

Deno.test("handler reports a failed detach when the detacher cannot be created", async () => {
  const { handler, sent } = bareHandler({
    drainer: () => ({ drain: () => Promise.resolve(DRAINED) }),
    asg: () => {
      throw new TypeError('AWS_REGION: "unknown" is not a region');
    },
  }, { detachAsg: true });
  const report = await handler.handle(notice());
  assert.equal(report!.asg!.status, "failed");
  assert.match(report!.asg!.message!, /region/);
  assert.deepEqual(sent.map((m) => m.phase), ["start", "result"]);
});

Deno.test("handler sends the start message and detaches while the Kubernetes API hangs", async () => {
  const n = fakeNotifier();
  const logger = createMemoryLogger();
  const detached: string[] = [];
  const never = new Promise<never>(() => {});
  const handler = createHandler({
    kubeCore: () => never,
    kube: () => never,
    drainer: () => {
      throw new Error("must not drain");
    },
    asg: () => ({
      detach(id) {
        detached.push(id);
        return Promise.resolve<AsgResult>({ status: "detached", group: "g" });
      },
    }),
    notifier: n.notifier,
    identity: () =>
      Promise.resolve({
        instanceId: "i-1",
        instanceType: "m5.large",
        availabilityZone: "us-east-1a",
        region: "us-east-1",
      }),
    logger,
  }, {
    nodeName: "n1",
    dryRun: false,
    actions: DEFAULT_ACTIONS,
    detachAsg: true,
    stateReadMs: 5,
  });
  handler.handle(notice());
  // The handling itself cannot finish (the API never answers); the start and the detach must.
  for (let i = 0; i < 200 && (n.sent.length === 0 || detached.length === 0); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(n.sent.map((m) => m.phase), ["start"]);
  assert.deepEqual(detached, ["i-1"]);
  assert.ok(logger.lines.some((l) => l.includes("acting anyway") || l.includes("handling notice")));
});

Deno.test("handler drains at once with the normal grace when the cordon patch is forbidden", async () => {
  const s = setup({ gracePeriodSeconds: 20 }, { failPatch: 1000, patchStatus: 403 });
  const report = await s.handler.handle(notice());
  // One attempt for the cordon, one for the final mark: no retries until the deadline.
  assert.equal(s.calls.filter((c) => c.startsWith("patchNode")).length, 2);
  assert.deepEqual(s.drains.map((d) => d.gracePeriodSeconds), [20]);
  assert.equal(report!.cordon!.status, "failed");
  assert.match(report!.cordon!.message!, /grant verb "patch" on "nodes"/);
  const line = s.logger.lines.find((l) => l.includes("cordon failed for good"));
  assert.ok(line, s.logger.lines.join("\n"));
  assert.match(line!, /ERROR/);
  assert.equal(s.metrics.get("sth_kube_errors_total", { step: "cordon", kind: "forbidden" }), 1);
  const result = s.sent.find((m) => m.phase === "result");
  assert.ok(result);
});

for (
  const [status, reason] of [
    [401, "unauthorized"],
    [403, "forbidden"],
    [404, "node-not-found"],
  ] as const
) {
  Deno.test(`handler reports the drain as not run (${reason}) when listing pods fails with ${status}`, async () => {
    let lists = 0;
    const { handler, sent, node, logger } = bareHandler({
      drainer: () => ({
        drain: () => {
          lists++;
          return Promise.reject(new KubeError(`list pods on node n1: ${status}`, { status }));
        },
      }),
    });
    const report = await handler.handle(notice());
    assert.equal(lists, 1);
    assert.deepEqual(
      report!.drain!.status === "not-run" ? report!.drain!.reason : report!.drain!.status,
      reason,
    );
    const result = sent.find((m) => m.phase === "result");
    assert.ok(result, "a result message is sent");
    assert.equal(
      JSON.parse(node.annotations[annotationKey("spot-interruption")]).phase,
      "failed",
      "a restart does not redo it blindly",
    );
    assert.ok(logger.lines.some((l) => /ERROR.*list pods failed for good/.test(l)));
  });
}

Deno.test("handler marks a resumed drain so the result says earlier evictions are not counted", async () => {
  const s = setup();
  s.node.annotations[annotationKey("spot-interruption")] = JSON.stringify({
    id: notice().id,
    phase: "started",
    at: NOW.toISOString(),
  });
  const report = await s.handler.handle(notice());
  assert.equal(report!.drain!.status, "drained");
  assert.equal("resumed" in report!.drain! && report!.drain!.resumed, true);
});

Deno.test("handler records the boot ID and whether the node was cordoned before", async () => {
  const s = setup({}, { bootId: "boot-1" });
  s.node.unschedulable = true;
  await s.handler.handle(notice());
  const state = JSON.parse(s.node.annotations[annotationKey("spot-interruption")]);
  assert.equal(state.bootId, "boot-1");
  assert.equal(state.wasUnschedulable, true);
});

Deno.test("handler labels the node out of external load balancers in the cordon's one PATCH", async () => {
  const s = setup({ excludeFromLoadBalancers: true }, { bootId: "boot-1" });
  await s.handler.handle(notice());
  const patches = s.calls.filter((c) => c.startsWith("patchNode"));
  assert.match(patches[0], /"unschedulable":true/);
  assert.match(patches[0], new RegExp(`"labels":\\{"${LB_EXCLUSION_LABEL}":"true"\\}`));
  assert.equal(s.node.labels[LB_EXCLUSION_LABEL], "true");
  const state = JSON.parse(s.node.annotations[annotationKey("spot-interruption")]);
  assert.equal(state.phase, "done");
  assert.equal(state.cordoned, true);
  assert.equal(state.lbLabelAdded, true, "the final mark keeps what the cordon added");
});

Deno.test("handler records that the load-balancer label was already there, so its return keeps it", async () => {
  const s = setup({ excludeFromLoadBalancers: true });
  s.node.labels[LB_EXCLUSION_LABEL] = "true";
  await s.handler.handle(notice());
  assert.ok(s.calls.filter((c) => c.startsWith("patchNode")).every((c) => !c.includes("labels")));
  const state = JSON.parse(s.node.annotations[annotationKey("spot-interruption")]);
  assert.equal(state.lbLabelAdded, undefined);
});

Deno.test("handler adds no load-balancer label when EXCLUDE_FROM_LOAD_BALANCERS is off or the plan does not cordon", async () => {
  const off = setup({ excludeFromLoadBalancers: false });
  await off.handler.handle(notice());
  assert.equal(off.node.labels[LB_EXCLUSION_LABEL], undefined);
  const notify = setup({ excludeFromLoadBalancers: true });
  await notify.handler.handle(notice("rebalance-recommendation", "rebalance"));
  assert.equal(notify.node.labels[LB_EXCLUSION_LABEL], undefined);
  const state = JSON.parse(notify.node.annotations[annotationKey("rebalance-recommendation")]);
  assert.equal(state.cordoned, undefined, "a notify-only notice never counts as our cordon");
});

Deno.test("handler takes the boot ID from the node, not from an earlier notice's record", async () => {
  const s = setup({}, { bootId: "boot-2" });
  s.node.annotations[annotationKey("spot-interruption")] = JSON.stringify({
    id: "spot-interruption:2026-11-01T00:00:00Z",
    phase: "returned",
    at: "2026-11-01T00:00:00Z",
    bootId: "boot-1",
    wasUnschedulable: true,
  });
  await s.handler.handle(notice());
  const state = JSON.parse(s.node.annotations[annotationKey("spot-interruption")]);
  assert.equal(state.bootId, "boot-2");
  assert.equal(state.wasUnschedulable, false);
});

/** A scheduler that records what it was asked and runs it when the test says. */
function recordingScheduler() {
  const entries = new Map<string, { notice: Notice; when: Date; run: () => void }>();
  const scheduler: Scheduler = {
    at(notice, when, run) {
      entries.set(notice.id, { notice, when, run });
    },
    cancel(id) {
      const e = entries.get(id);
      entries.delete(id);
      return e?.notice;
    },
    pending: (id) => entries.get(id)?.notice,
    stop: () => entries.clear(),
  };
  return { scheduler, entries };
}

function maintenance(notBefore: Date): Notice {
  return {
    id: "scheduled-maintenance:instance-event-1",
    kind: "scheduled-maintenance",
    action: "system-reboot",
    noticeTime: notBefore,
    notAfter: new Date(notBefore.getTime() + 7_200_000),
    deadline: new Date(notBefore.getTime() - 5_000),
    raw: "{}",
  };
}

Deno.test("handler announces a maintenance event ahead of its lead and changes nothing until then", async () => {
  const r = recordingScheduler();
  const s = setup({ maintenanceLeadMs: 600_000 }, { bootId: "boot-1" }, { scheduler: r.scheduler });
  const n = maintenance(new Date(NOW.getTime() + 3 * 86_400_000));
  assert.equal(await s.handler.handle(n), undefined);
  assert.deepEqual(s.sent.map((m) => m.phase), ["start"]);
  const start = s.sent[0] as Extract<Message, { phase: "start" }>;
  assert.deepEqual(start.actionAt, new Date(n.noticeTime.getTime() - 600_000));
  assert.equal(s.node.unschedulable, false);
  assert.deepEqual(s.node.taints, [{ key: "other", effect: "NoExecute" }]);
  assert.equal(s.drains.length, 0);
  const state = JSON.parse(s.node.annotations[annotationKey("scheduled-maintenance")]);
  assert.equal(state.phase, "announced");
  assert.equal(state.id, n.id);
  assert.deepEqual(r.entries.get(n.id)?.when, start.actionAt);

  // At the action time: cordon, drain and the result, without a second start message.
  r.entries.get(n.id)!.run();
  await s.handler.settled();
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  assert.equal(s.node.unschedulable, true);
  assert.equal(s.drains.length, 1);
  assert.deepEqual(s.drains[0].deadline, n.deadline);
  const done = JSON.parse(s.node.annotations[annotationKey("scheduled-maintenance")]);
  assert.equal(done.phase, "done");
  assert.equal(done.bootId, "boot-1");
  assert.equal(done.wasUnschedulable, false);
});

Deno.test("handler restarted before a maintenance event's time sets the timer again without announcing twice", async () => {
  const r = recordingScheduler();
  const s = setup({ maintenanceLeadMs: 600_000 }, {}, { scheduler: r.scheduler });
  const n = maintenance(new Date(NOW.getTime() + 86_400_000));
  s.node.annotations[annotationKey("scheduled-maintenance")] = JSON.stringify({
    id: n.id,
    phase: "announced",
    at: "2026-11-24T00:00:00Z",
  });
  await s.handler.handle(n);
  assert.deepEqual(s.sent, []);
  assert.ok(r.entries.has(n.id));
  assert.ok(s.calls.every((c) => !c.startsWith("patchNode")), "nothing written");
});

Deno.test("handler acts at once on a maintenance event already inside its lead", async () => {
  const r = recordingScheduler();
  const s = setup({ maintenanceLeadMs: 600_000 }, {}, { scheduler: r.scheduler });
  await s.handler.handle(maintenance(new Date(NOW.getTime() + 300_000)));
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  assert.equal(s.node.unschedulable, true);
  assert.equal(r.entries.size, 0);
});

Deno.test("a rescheduled maintenance event moves its timer and is announced again with the new time", async () => {
  const r = recordingScheduler();
  const s = setup({ maintenanceLeadMs: 600_000 }, {}, { scheduler: r.scheduler });
  const first = maintenance(new Date(NOW.getTime() + 86_400_000));
  await s.handler.handle(first);
  const later = maintenance(new Date(NOW.getTime() + 3 * 86_400_000));
  await s.handler.handle(later);
  const starts = s.sent as Extract<Message, { phase: "start" }>[];
  assert.deepEqual(starts.map((m) => m.actionAt), [
    new Date(first.noticeTime.getTime() - 600_000),
    new Date(later.noticeTime.getTime() - 600_000),
  ]);
  assert.deepEqual(r.entries.get(later.id)?.when, starts[1].actionAt, "the timer follows");
  assert.ok(s.logger.lines.some((l) => l.includes("maintenance rescheduled")));
  const state = JSON.parse(s.node.annotations[annotationKey("scheduled-maintenance")]);
  assert.equal(state.noticeTime, later.noticeTime.toISOString());
  assert.equal(s.node.unschedulable, false, "days early is never the answer");
  // Seen again unchanged (another poll, or a restart): no third message.
  await s.handler.handle(later);
  assert.equal(s.sent.length, 2);
});

Deno.test("after a restart, the node's record tells a rescheduled maintenance event from a known one", async () => {
  const r = recordingScheduler();
  const s = setup({ maintenanceLeadMs: 600_000 }, {}, { scheduler: r.scheduler });
  const n = maintenance(new Date(NOW.getTime() + 2 * 86_400_000));
  s.node.annotations[annotationKey("scheduled-maintenance")] = JSON.stringify({
    id: n.id,
    phase: "announced",
    at: "2026-11-24T00:00:00Z",
    noticeTime: new Date(NOW.getTime() + 86_400_000).toISOString(),
  });
  await s.handler.handle(n);
  assert.deepEqual(s.sent.map((m) => m.phase), ["start"], "the time told before is wrong now");
  assert.deepEqual(r.entries.get(n.id)?.when, new Date(n.noticeTime.getTime() - 600_000));
});

Deno.test("a maintenance event rescheduled into its lead is acted on at once, and its old timer never acts", async () => {
  const r = recordingScheduler();
  const s = setup({ maintenanceLeadMs: 600_000 }, {}, { scheduler: r.scheduler });
  const n = maintenance(new Date(NOW.getTime() + 86_400_000));
  await s.handler.handle(n);
  const oldTimer = r.entries.get(n.id)!;
  await s.handler.handle(maintenance(new Date(NOW.getTime() + 300_000)));
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
  assert.equal(s.node.unschedulable, true);
  assert.equal(r.entries.size, 0, "the old timer is cancelled");
  oldTimer.run(); // even if it had fired already: the record says done
  await s.handler.settled();
  assert.equal(s.drains.length, 1);
});

Deno.test("the same notice arriving while it is being acted on is not acted on twice", async () => {
  const r = recordingScheduler();
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  let started!: () => void;
  const draining = new Promise<void>((resolve) => started = resolve);
  let drains = 0;
  const s = setup({ maintenanceLeadMs: 600_000 }, {}, {
    scheduler: r.scheduler,
    drainer: () => ({
      async drain() {
        drains++;
        started();
        await held;
        return DRAINED;
      },
    }),
  });
  const first = s.handler.handle(maintenance(new Date(NOW.getTime() + 300_000)));
  await draining;
  // Rescheduled a minute earlier while the drain runs: the work in hand covers it.
  assert.equal(await s.handler.handle(maintenance(new Date(NOW.getTime() + 240_000))), undefined);
  assert.ok(s.logger.lines.some((l) => l.includes("notice already being handled")));
  release();
  await first;
  assert.equal(drains, 1);
  assert.deepEqual(s.sent.map((m) => m.phase), ["start", "result"]);
});

Deno.test("handler names the missing pods/eviction grant once when the API forbids evictions", async () => {
  const { handler, logger } = bareHandler({
    drainer: () => ({
      drain: () =>
        Promise.resolve({
          evicted: [],
          remaining: [],
          failed: [
            { pod: "default/a", reason: '403 Forbidden: pods "a" is forbidden' },
            { pod: "default/b", reason: '403 Forbidden: pods "b" is forbidden' },
          ],
          skipped: [],
        }),
    }),
  });
  const report = await handler.handle(notice());
  assert.equal(report!.drain!.status, "partial");
  const lines = logger.lines.filter((l) => l.includes("evict pods failed for good"));
  assert.equal(lines.length, 1);
  assert.match(
    lines[0],
    /grant verb \\"create\\" on \\"pods\/eviction\\"|grant verb "create" on "pods\/eviction"/,
  );
});

Deno.test("parseHandledState reads a record and counts anything unreadable as not handled", () => {
  const record = { id: "spot-interruption:x", phase: "started", at: NOW.toISOString() };
  assert.deepEqual(parseHandledState(JSON.stringify(record)), record);
  for (
    const value of [
      undefined,
      "",
      "{",
      "null",
      '{"id":1,"phase":"done"}',
      '{"id":"x","phase":"gone"}',
    ]
  ) {
    assert.equal(parseHandledState(value), undefined, String(value));
  }
});

Deno.test("handledStateValue keeps the before-state of this notice's first run, not an announcement's or another notice's", () => {
  const n = notice();
  const info: NodeInfo = {
    name: "n1",
    unschedulable: true,
    annotations: {},
    labels: {},
    taints: [],
    bootId: "boot-now",
  };
  const earlier = { phase: "started" as const, at: NOW.toISOString(), bootId: "boot-first" };
  const value = (previous: Parameters<typeof handledStateValue>[2]["previous"]) =>
    JSON.parse(
      handledStateValue(n, "done", { info, previous }, ["cordon"], {
        at: NOW,
        excludeFromLoadBalancers: true,
      }),
    );
  const first = value({ ...earlier, id: n.id, wasUnschedulable: false, lbLabelAdded: false });
  assert.deepEqual(first, {
    id: n.id,
    phase: "done",
    at: NOW.toISOString(),
    action: "terminate",
    noticeTime: "2026-11-25T10:02:00.000Z",
    bootId: "boot-first",
    wasUnschedulable: false,
    cordoned: true,
  });
  for (
    const previous of [{ ...earlier, id: n.id, phase: "announced" as const }, {
      ...earlier,
      id: "spot-interruption:older",
    }]
  ) {
    const v = value(previous);
    assert.equal(v.bootId, "boot-now", previous.phase);
    assert.equal(v.wasUnschedulable, true, previous.phase);
    assert.equal(v.lbLabelAdded, true, previous.phase);
  }
});

Deno.test("withTaint replaces the handler's earlier taint and keeps everyone else's", () => {
  const taints: Taint[] = [
    { key: "other", effect: "NoSchedule" },
    { key: TAINT_KEY, value: "rebalance-recommendation", effect: "NoSchedule" },
    { key: TAINT_KEY, value: "x", effect: "NoExecute" },
  ];
  assert.deepEqual(withTaint(taints, "spot-interruption"), [
    { key: "other", effect: "NoSchedule" },
    { key: TAINT_KEY, value: "x", effect: "NoExecute" },
    { key: TAINT_KEY, value: "spot-interruption", effect: "NoSchedule" },
  ]);
});
