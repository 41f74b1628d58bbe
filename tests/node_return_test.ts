import assert from "node:assert/strict";
import { applyNodePatch } from "./fixtures/node_patch.ts";
import {
  annotationKey,
  type HandledState,
  LB_EXCLUSION_LABEL,
  TAINT_KEY,
} from "../lib/handler_state.ts";
import type { NodeInfo, NodePatch } from "../lib/kube.ts";
import type { KubeCore } from "../lib/kube_http.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import type { FinishedEvent, Scheduler } from "../lib/maintenance.ts";
import type { Notice, NoticeKind } from "../lib/notice.ts";
import type { Message } from "../lib/notify_message.ts";
import type { Notifier } from "../lib/notify.ts";
import { createNodeReturn } from "../lib/node_return.ts";
import { decideReturn, HIBERNATE_RESUME_MS } from "../lib/node_return_decide.ts";

const NOW = new Date("2026-12-01T10:00:00Z");
const OUR_TAINT = { key: TAINT_KEY, value: "spot-interruption", effect: "NoSchedule" };

function record(kind: NoticeKind, state: Partial<HandledState>): [string, string] {
  return [
    annotationKey(kind),
    JSON.stringify({
      id: `${kind}:1`,
      phase: "done",
      at: "2026-12-01T09:00:00.000Z",
      bootId: "boot-1",
      wasUnschedulable: false,
      cordoned: true,
      ...state,
    }),
  ];
}

function node(options: {
  bootId?: string;
  unschedulable?: boolean;
  records?: Array<[string, string]>;
  labels?: Record<string, string>;
  taints?: NodeInfo["taints"];
} = {}): NodeInfo {
  return {
    name: "n1",
    unschedulable: options.unschedulable ?? true,
    annotations: Object.fromEntries(options.records ?? []),
    labels: options.labels ?? { [LB_EXCLUSION_LABEL]: "true" },
    taints: options.taints ?? [{ key: "other", effect: "NoExecute" }, OUR_TAINT],
    bootId: options.bootId ?? "boot-2",
  };
}

const NONE = new Map<string, FinishedEvent>();
const finished = (...events: FinishedEvent[]) => new Map(events.map((e) => [e.id, e]));

Deno.test("decideReturn gives the node back after a new boot ID, undoing only what the handler did", () => {
  const n = node({ records: [record("spot-interruption", { lbLabelAdded: true })] });
  const d = decideReturn(n, NONE, false);
  assert.deepEqual(d.cancel, []);
  assert.equal(d.back?.why, "rebooted");
  assert.equal(d.back?.uncordon, true);
  assert.equal(d.back?.removeTaint, true);
  assert.equal(d.back?.removeLabel, true);
  const theirs = decideReturn(node({ records: [record("spot-interruption", {})] }), NONE, false);
  assert.equal(theirs.back?.removeLabel, false, "a label that was already there stays");
});

Deno.test("decideReturn never uncordons a node someone else cordoned first", () => {
  const n = node({
    records: [
      record("rebalance-recommendation", { wasUnschedulable: true, at: "2026-12-01T08:00:00Z" }),
      record("spot-interruption", { wasUnschedulable: true }),
    ],
  });
  const d = decideReturn(n, NONE, false);
  assert.equal(d.back?.uncordon, false);
  assert.equal(d.back?.removeTaint, true);
});

Deno.test("decideReturn trusts the earliest record for the cordon: a later one saw our own", () => {
  const n = node({
    records: [
      record("rebalance-recommendation", { wasUnschedulable: false, at: "2026-12-01T08:00:00Z" }),
      record("spot-interruption", { wasUnschedulable: true }),
    ],
  });
  assert.equal(decideReturn(n, NONE, false).back?.uncordon, true);
});

Deno.test("decideReturn waits while the same boot, another notice or a busy handler holds the node", () => {
  const same = node({ bootId: "boot-1", records: [record("spot-interruption", {})] });
  assert.equal(decideReturn(same, NONE, false).back, undefined);
  const other = node({
    records: [
      record("spot-interruption", {}),
      record("rebalance-recommendation", { bootId: "boot-2" }),
    ],
  });
  const d = decideReturn(other, NONE, false);
  assert.equal(d.back, undefined);
  assert.match(d.waiting!, /rebalance-recommendation:1 still holds the node/);
  const busy = node({ records: [record("spot-interruption", {})] });
  assert.equal(decideReturn(busy, NONE, true).waiting, "a notice is being handled");
});

Deno.test("decideReturn ignores records that never cordoned or already ended", () => {
  for (
    const state of [
      { cordoned: undefined },
      { phase: "returned" as const },
      { phase: "announced" as const },
      { phase: "canceled" as const },
    ]
  ) {
    const n = node({ records: [record("spot-interruption", state)] });
    assert.deepEqual(decideReturn(n, NONE, false), { cancel: [] }, JSON.stringify(state));
  }
});

Deno.test("decideReturn returns the node when its maintenance event completed, boot ID or not", () => {
  const id = "scheduled-maintenance:1";
  const n = node({ bootId: "boot-1", records: [record("scheduled-maintenance", {})] });
  const done = decideReturn(n, finished({ id, state: "completed", code: "system-reboot" }), false);
  assert.equal(done.back?.why, "event-completed");
  const canceled = decideReturn(
    n,
    finished({ id, state: "canceled", code: "system-reboot" }),
    false,
  );
  assert.equal(canceled.back?.why, "event-canceled");
});

Deno.test("decideReturn cancels an announced maintenance event that finished before its time", () => {
  const id = "scheduled-maintenance:1";
  const n = node({
    unschedulable: false,
    records: [record("scheduled-maintenance", { phase: "announced", cordoned: undefined })],
  });
  const d = decideReturn(n, finished({ id, state: "canceled", code: "instance-stop" }), false);
  assert.equal(d.cancel.length, 1);
  assert.equal(d.cancel[0].state.id, id);
  assert.equal(d.back, undefined);
});

function fakeCore(info: NodeInfo, options: { failGet?: boolean } = {}) {
  const patches: NodePatch[] = [];
  const core: KubeCore = {
    getNode() {
      if (options.failGet) return Promise.reject(new Error("get node n1: 503"));
      return Promise.resolve(structuredClone(info));
    },
    patchNode(_name, patch) {
      patches.push(patch);
      applyNodePatch(info, patch);
      return Promise.resolve();
    },
    getPod: () => Promise.resolve(null),
    canI: () => Promise.resolve({ allowed: true }),
  };
  return { core, patches };
}

function setup(
  info: NodeInfo,
  options: { failGet?: boolean; dryRun?: boolean; busy?: boolean } = {},
) {
  const k = fakeCore(info, options);
  const sent: Message[] = [];
  const notifier: Notifier = {
    targets: ["webhook"],
    send(message) {
      sent.push(message);
      return Promise.resolve([{ target: "webhook", ok: true, attempts: 1 }]);
    },
  };
  const pending = new Map<string, Notice>();
  const cancelled: string[] = [];
  const scheduler: Pick<Scheduler, "cancel" | "pending"> = {
    cancel(id) {
      const n = pending.get(id);
      if (n) cancelled.push(id);
      pending.delete(id);
      return n;
    },
    pending: (id) => pending.get(id),
  };
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const back = createNodeReturn({
    kubeCore: () => Promise.resolve(k.core),
    nodeName: () => Promise.resolve("n1"),
    identity: () =>
      Promise.resolve({
        instanceId: "i-1",
        instanceType: "m5.large",
        availabilityZone: "us-east-1a",
        region: "us-east-1",
      }),
    notifier,
    logger,
    busy: () => options.busy ?? false,
    scheduler,
    metrics,
    now: () => NOW,
  }, { cluster: "prod", dryRun: options.dryRun ?? false });
  return { back, info, sent, pending, cancelled, logger, metrics, ...k };
}

Deno.test("the return step uncordons, untaints, unlabels in one patch, marks returned and says so once", async () => {
  const s = setup(
    node({ records: [record("spot-interruption", { lbLabelAdded: true, action: "stop" })] }),
  );
  const outcome = await s.back.check();
  assert.deepEqual(outcome.returned, {
    why: "rebooted",
    uncordoned: true,
    removed: [`taint ${TAINT_KEY}`, `label ${LB_EXCLUSION_LABEL}`],
  });
  assert.equal(s.patches.length, 1);
  assert.equal(s.info.unschedulable, false);
  assert.deepEqual(s.info.taints, [{ key: "other", effect: "NoExecute" }]);
  assert.equal(LB_EXCLUSION_LABEL in s.info.labels, false);
  const state = JSON.parse(s.info.annotations[annotationKey("spot-interruption")]);
  assert.equal(state.phase, "returned");
  assert.equal(state.at, NOW.toISOString());
  assert.equal(state.bootId, "boot-1", "the record keeps what it knew");
  assert.equal(s.sent.length, 1);
  const msg = s.sent[0];
  assert.equal(msg.phase, "returned");
  assert.equal(msg.notice.id, "spot-interruption:1");
  assert.equal(msg.notice.action, "stop");
  assert.equal(msg.context.instanceId, "i-1");

  await s.back.check();
  assert.equal(s.patches.length, 1, "nothing more to do");
  assert.equal(s.sent.length, 1);
  assert.equal(s.metrics.get("sth_notices_closed_total", { outcome: "returned" }), 1);
});

Deno.test("the return step keeps a node cordoned that someone else had cordoned", async () => {
  const s = setup(node({ records: [record("spot-interruption", { wasUnschedulable: true })] }));
  const outcome = await s.back.check();
  assert.equal(outcome.returned?.uncordoned, false);
  assert.equal(s.info.unschedulable, true);
  assert.deepEqual(s.info.taints, [{ key: "other", effect: "NoExecute" }]);
  assert.equal(s.info.labels[LB_EXCLUSION_LABEL], "true", "not our label");
  assert.equal(s.patches[0].unschedulable, undefined);
});

Deno.test("the return step cancels an announced maintenance event once, however often IMDS lists it", async () => {
  const id = "scheduled-maintenance:1";
  const s = setup(node({
    unschedulable: false,
    records: [record("scheduled-maintenance", { phase: "announced", cordoned: undefined })],
  }));
  s.pending.set(id, {
    id,
    kind: "scheduled-maintenance",
    action: "system-reboot",
    noticeTime: new Date("2026-12-08T09:00:00Z"),
    deadline: new Date("2026-12-08T08:59:55Z"),
    raw: "{}",
  });
  const events: FinishedEvent[] = [{ id, state: "canceled", code: "system-reboot" }];
  await s.back.eventsFinished(events);
  await s.back.eventsFinished(events);
  assert.deepEqual(s.cancelled, [id]);
  const state = JSON.parse(s.info.annotations[annotationKey("scheduled-maintenance")]);
  assert.equal(state.phase, "canceled");
  assert.equal(s.info.unschedulable, false);
  assert.deepEqual(s.sent.map((m) => m.phase), ["canceled"]);
  assert.equal(s.metrics.get("sth_notices_closed_total", { outcome: "canceled" }), 1);
  const msg = s.sent[0] as Extract<Message, { phase: "canceled" }>;
  assert.equal(msg.state, "canceled");
  assert.deepEqual(msg.notice.noticeTime, new Date("2026-12-08T09:00:00Z"));
});

Deno.test("the return step drops a pending timer even when the node cannot be read", async () => {
  const id = "scheduled-maintenance:1";
  const s = setup(node(), { failGet: true });
  s.pending.set(id, {
    id,
    kind: "scheduled-maintenance",
    action: "system-reboot",
    noticeTime: new Date("2026-12-08T09:00:00Z"),
    deadline: new Date("2026-12-08T08:59:55Z"),
    raw: "{}",
  });
  await s.back.eventsFinished([{ id, state: "completed", code: "system-reboot" }]);
  assert.deepEqual(s.cancelled, [id]);
  assert.deepEqual(s.sent.map((m) => m.phase), ["canceled"]);
  assert.ok(s.logger.lines.some((l) => /could not read the node/.test(l)));
});

Deno.test("the return step waits while a notice is being handled", async () => {
  const s = setup(node({ records: [record("spot-interruption", {})] }), { busy: true });
  assert.equal((await s.back.check()).returned, undefined);
  assert.equal(s.patches.length, 0);
  assert.deepEqual(s.sent, []);
});

Deno.test("the return step in dry run changes nothing and reports once", async () => {
  const s = setup(node({ records: [record("spot-interruption", {})] }), { dryRun: true });
  await s.back.check();
  await s.back.check();
  assert.equal(s.patches.length, 0);
  assert.equal(s.info.unschedulable, true);
  assert.deepEqual(s.sent.map((m) => [m.phase, m.dryRun]), [["returned", true]]);
  assert.equal(s.metrics.get("sth_notices_closed_total", { outcome: "returned" }), 0);
});

Deno.test("decideReturn gives a node back after a spot hibernation once its time is well past", () => {
  const hibernate = record("spot-interruption", {
    action: "hibernate",
    noticeTime: "2026-12-01T09:30:00.000Z",
    bootId: "boot-2",
  });
  const n = node({ records: [hibernate] });
  const soon = new Date(Date.parse("2026-12-01T09:30:00Z") + HIBERNATE_RESUME_MS - 1);
  assert.equal(decideReturn(n, NONE, false, soon).back, undefined, "still hibernating");
  const later = new Date(Date.parse("2026-12-01T09:30:00Z") + HIBERNATE_RESUME_MS + 1);
  assert.equal(decideReturn(n, NONE, false, later).back?.why, "resumed");
  const terminate = node({
    records: [record("spot-interruption", { action: "terminate", bootId: "boot-2" })],
  });
  assert.equal(
    decideReturn(terminate, NONE, false, later).back,
    undefined,
    "only a hibernation resumes with the same boot",
  );
});
