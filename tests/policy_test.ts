import assert from "node:assert/strict";
import { planFor } from "../lib/policy.ts";
import type { Notice, NoticeKind } from "../lib/notice.ts";

function notice(kind: NoticeKind, action = "terminate"): Notice {
  const t = new Date("2026-11-25T10:02:00Z");
  return { id: `${kind}:x`, kind, action, noticeTime: t, deadline: t, raw: "" };
}

Deno.test("planFor drains and detaches on a spot interruption when DETACH_ASG is on", () => {
  const n = notice("spot-interruption");
  assert.deepEqual(planFor(n, { rebalanceAction: "notify", detachAsg: true }), [
    "cordon",
    "taint",
    "drain",
    "detach-asg",
  ]);
  assert.deepEqual(planFor(n, { rebalanceAction: "notify", detachAsg: false }), [
    "cordon",
    "taint",
    "drain",
  ]);
});

Deno.test("planFor follows REBALANCE_ACTION for a rebalance recommendation", () => {
  const n = notice("rebalance-recommendation", "rebalance");
  assert.deepEqual(planFor(n, { rebalanceAction: "notify", detachAsg: true }), []);
  assert.deepEqual(planFor(n, { rebalanceAction: "cordon", detachAsg: true }), ["cordon", "taint"]);
  assert.deepEqual(planFor(n, { rebalanceAction: "drain", detachAsg: true }), [
    "cordon",
    "taint",
    "drain",
  ]);
});

Deno.test("planFor detaches on scheduled maintenance only when the instance leaves", () => {
  const opts = { rebalanceAction: "notify" as const, detachAsg: true };
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
    planFor(notice("asg-termination", "Terminated"), {
      rebalanceAction: "notify",
      detachAsg: true,
    }),
    ["cordon", "taint", "drain"],
  );
});
