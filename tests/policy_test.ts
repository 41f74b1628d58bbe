import assert from "node:assert/strict";
import { ACTION_RULES, type Actions, DEFAULT_ACTIONS, planFor } from "../lib/policy.ts";
import { type Notice, NOTICE_KINDS, type NoticeKind } from "../lib/notice.ts";

function notice(kind: NoticeKind, action = "terminate"): Notice {
  const t = new Date("2026-11-25T10:02:00Z");
  return { id: `${kind}:x`, kind, action, noticeTime: t, deadline: t, raw: "" };
}

function with_(kind: NoticeKind, action: Actions[NoticeKind]): Actions {
  return { ...DEFAULT_ACTIONS, [kind]: action };
}

Deno.test("the action table has one row per notice kind, each with its own variable", () => {
  assert.deepEqual(ACTION_RULES.map((r) => r.kind).sort(), [...NOTICE_KINDS].sort());
  assert.equal(new Set(ACTION_RULES.map((r) => r.variable)).size, ACTION_RULES.length);
  assert.deepEqual(
    Object.fromEntries(ACTION_RULES.map((r) => [r.variable, r.default])),
    {
      SPOT_ACTION: "drain",
      MAINTENANCE_ACTION: "drain",
      ASG_ACTION: "drain",
      REBALANCE_ACTION: "notify",
    },
  );
});

Deno.test("planFor drains and detaches on a spot interruption when DETACH_ASG is on", () => {
  const n = notice("spot-interruption");
  assert.deepEqual(planFor(n, { actions: DEFAULT_ACTIONS, detachAsg: true }), [
    "cordon",
    "taint",
    "drain",
    "detach-asg",
  ]);
  assert.deepEqual(planFor(n, { actions: DEFAULT_ACTIONS, detachAsg: false }), [
    "cordon",
    "taint",
    "drain",
  ]);
});

Deno.test("planFor follows each kind's action: notify changes nothing, cordon does not drain", () => {
  for (const kind of NOTICE_KINDS) {
    const n = notice(kind, kind === "scheduled-maintenance" ? "instance-stop" : "terminate");
    assert.deepEqual(planFor(n, { actions: with_(kind, "notify"), detachAsg: true }), [], kind);
    const cordon = planFor(n, { actions: with_(kind, "cordon"), detachAsg: false });
    assert.deepEqual(cordon, ["cordon", "taint"], kind);
    const drain = planFor(n, { actions: with_(kind, "drain"), detachAsg: false });
    assert.deepEqual(drain, ["cordon", "taint", "drain"], kind);
  }
});

Deno.test("planFor never detaches from the ASG when the action is notify only", () => {
  const n = notice("spot-interruption");
  assert.deepEqual(
    planFor(n, { actions: with_("spot-interruption", "notify"), detachAsg: true }),
    [],
  );
  assert.deepEqual(
    planFor(n, { actions: with_("spot-interruption", "cordon"), detachAsg: true }),
    ["cordon", "taint", "detach-asg"],
  );
});

Deno.test("planFor detaches on scheduled maintenance only when the instance leaves", () => {
  const opts = { actions: DEFAULT_ACTIONS, detachAsg: true };
  assert.ok(planFor(notice("scheduled-maintenance", "instance-stop"), opts).includes("detach-asg"));
  assert.ok(
    planFor(notice("scheduled-maintenance", "instance-retirement"), opts).includes("detach-asg"),
  );
  assert.deepEqual(planFor(notice("scheduled-maintenance", "system-reboot"), opts), [
    "cordon",
    "taint",
    "drain",
  ]);
});

Deno.test("planFor never detaches on an ASG termination, the group already replaces it", () => {
  assert.deepEqual(
    planFor(notice("asg-termination", "Terminated"), { actions: DEFAULT_ACTIONS, detachAsg: true }),
    ["cordon", "taint", "drain"],
  );
  assert.deepEqual(
    planFor(notice("rebalance-recommendation", "rebalance"), {
      actions: with_("rebalance-recommendation", "drain"),
      detachAsg: true,
    }),
    ["cordon", "taint", "drain"],
  );
});
