import assert from "node:assert/strict";
import {
  actionTime,
  createScheduler,
  DEFAULT_MAINTENANCE_LEAD_MS,
  finishedEvents,
  isDue,
  type Timers,
} from "../lib/maintenance.ts";
import type { Notice } from "../lib/notice.ts";

const NOT_BEFORE = new Date("2026-12-01T09:00:00Z");

function event(id = "scheduled-maintenance:e-1", notBefore = NOT_BEFORE): Notice {
  return {
    id,
    kind: "scheduled-maintenance",
    action: "system-reboot",
    noticeTime: notBefore,
    deadline: new Date(notBefore.getTime() - 5_000),
    raw: "{}",
  };
}

/** Timers on a clock the test moves; `advance` fires what is due, in order. */
function fakeClock(start: Date) {
  let t = start.getTime();
  let next = 1;
  const pending = new Map<number, { at: number; run: () => void }>();
  const timers: Timers = {
    set(run, ms) {
      const id = next++;
      pending.set(id, { at: t + ms, run });
      return id;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    now: () => new Date(t),
    pending: () => pending.size,
    advance(ms: number) {
      const end = t + ms;
      for (;;) {
        const due = [...pending.entries()].filter(([, p]) => p.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        pending.delete(due[0]);
        t = due[1].at;
        due[1].run();
      }
      t = end;
    },
  };
}

Deno.test("a maintenance event's action begins NotBefore minus the lead, not before", () => {
  const lead = 10 * 60_000;
  assert.deepEqual(actionTime(event(), lead), new Date("2026-12-01T08:50:00Z"));
  assert.equal(isDue(event(), new Date("2026-11-24T09:00:00Z"), lead), false, "a week ahead");
  assert.equal(isDue(event(), new Date("2026-12-01T08:49:59.999Z"), lead), false);
  assert.equal(isDue(event(), new Date("2026-12-01T08:50:00Z"), lead), true);
  assert.equal(isDue(event(), new Date("2026-12-01T09:30:00Z"), lead), true, "already past");
  assert.equal(isDue(event(), new Date("2026-12-01T08:59:00Z"), 0), false, "lead 0 waits");
  assert.equal(DEFAULT_MAINTENANCE_LEAD_MS, 15 * 60_000);
});

Deno.test("every other kind of notice is due at once", () => {
  for (
    const kind of ["spot-interruption", "asg-termination", "rebalance-recommendation"] as const
  ) {
    const n = { ...event(), kind, noticeTime: new Date("2030-01-01T00:00:00Z") };
    assert.equal(isDue(n, new Date("2026-01-01T00:00:00Z"), 3_600_000), true, kind);
  }
});

Deno.test("finishedEvents lists completed and canceled events by notice id, leniently", () => {
  const body = JSON.stringify([
    { Code: "system-reboot", State: "active", EventId: "e-1" },
    { Code: "system-reboot", State: "Completed", EventId: "e-2" },
    { Code: "instance-stop", State: "canceled", EventId: "e-3" },
    { Code: "instance-stop", State: "Cancelled", EventId: "e-4" },
    { State: "canceled" },
    null,
  ]);
  assert.deepEqual(finishedEvents(body), [
    { id: "scheduled-maintenance:e-2", state: "completed", code: "system-reboot" },
    { id: "scheduled-maintenance:e-3", state: "canceled", code: "instance-stop" },
    { id: "scheduled-maintenance:e-4", state: "canceled", code: "instance-stop" },
  ]);
  assert.deepEqual(finishedEvents("not json"), []);
  assert.deepEqual(finishedEvents("{}"), []);
});

Deno.test("the scheduler runs at the action time, and not when cancelled first", () => {
  const clock = fakeClock(new Date("2026-12-01T08:00:00Z"));
  const scheduler = createScheduler({ now: clock.now, timers: clock.timers });
  const ran: string[] = [];
  const a = event("scheduled-maintenance:a");
  const b = event("scheduled-maintenance:b");
  scheduler.at(a, actionTime(a, 600_000), () => ran.push(`a@${clock.now().toISOString()}`));
  scheduler.at(b, actionTime(b, 600_000), () => ran.push("b"));
  assert.equal(scheduler.pending(a.id), a);
  assert.equal(scheduler.cancel(b.id), b);
  assert.equal(scheduler.cancel(b.id), undefined, "cancelling twice finds nothing");
  clock.advance(49 * 60_000);
  assert.deepEqual(ran, []);
  clock.advance(60_000);
  assert.deepEqual(ran, ["a@2026-12-01T08:50:00.000Z"]);
  assert.equal(scheduler.pending(a.id), undefined);
  assert.equal(clock.pending(), 0);
});

Deno.test("the scheduler runs a past time at once and re-arms waits longer than setTimeout allows", () => {
  const clock = fakeClock(new Date("2026-01-01T00:00:00Z"));
  const scheduler = createScheduler({ now: clock.now, timers: clock.timers });
  const ran: string[] = [];
  const past = event("scheduled-maintenance:past", new Date("2025-12-31T00:00:00Z"));
  scheduler.at(past, actionTime(past, 0), () => ran.push("past"));
  assert.deepEqual(ran, ["past"]);
  const far = event("scheduled-maintenance:far", new Date("2026-03-01T00:00:00Z"));
  scheduler.at(far, actionTime(far, 0), () => ran.push(clock.now().toISOString()));
  clock.advance(30 * 86_400_000);
  assert.deepEqual(ran, ["past"], "still waiting after the first 24.8-day step");
  clock.advance(60 * 86_400_000);
  assert.deepEqual(ran, ["past", "2026-03-01T00:00:00.000Z"]);
});

Deno.test("the scheduler replaces an earlier schedule of the same event and stop drops all", () => {
  const clock = fakeClock(new Date("2026-12-01T08:00:00Z"));
  const scheduler = createScheduler({ now: clock.now, timers: clock.timers });
  const ran: string[] = [];
  const a = event();
  scheduler.at(a, new Date("2026-12-01T08:10:00Z"), () => ran.push("first"));
  scheduler.at(a, new Date("2026-12-01T08:20:00Z"), () => ran.push("second"));
  clock.advance(30 * 60_000);
  assert.deepEqual(ran, ["second"]);
  scheduler.at(a, new Date("2026-12-01T09:00:00Z"), () => ran.push("third"));
  scheduler.stop();
  assert.equal(clock.pending(), 0);
  clock.advance(3_600_000);
  assert.deepEqual(ran, ["second"]);
});
