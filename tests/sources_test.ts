import assert from "node:assert/strict";
import { MAINTENANCE_HORIZON_MS, parseScheduledEvents } from "../lib/source_scheduled_events.ts";
import { parseInstanceAction } from "../lib/source_instance_action.ts";
import { parseLifecycleState } from "../lib/source_lifecycle_state.ts";
import { parseRebalance } from "../lib/source_rebalance.ts";
import { parseTerminationTime } from "../lib/source_termination_time.ts";
import { SPOT_HORIZON_MS } from "../lib/_source_parse.ts";
import { NOTICE_PATHS, NOTICE_SOURCES } from "../lib/sources.ts";
import { formatEventTime } from "../tools/mock_imds.ts";

const NOW = new Date("2026-11-25T10:00:00Z");

Deno.test("parseInstanceAction reads action and time with a deadline before the time", () => {
  const body = '{"action":"stop","time":"2026-11-25T10:02:00Z"}';
  assert.deepEqual(parseInstanceAction(body, NOW), {
    id: "spot-interruption:2026-11-25T10:02:00Z",
    kind: "spot-interruption",
    noticeTime: new Date("2026-11-25T10:02:00Z"),
    deadline: new Date("2026-11-25T10:01:55Z"),
    action: "stop",
    raw: body,
  });
  const margin = parseInstanceAction(body, NOW, 30_000);
  assert.deepEqual(margin.deadline, new Date("2026-11-25T10:01:30Z"));
});

Deno.test("parseInstanceAction gives the same id for the same instant in another notation", () => {
  const a = parseInstanceAction('{"action":"terminate","time":"2026-11-25T10:02:00.000Z"}', NOW);
  const b = parseInstanceAction('{"action":"terminate","time":"2026-11-25T11:02:00+01:00"}', NOW);
  assert.equal(a.id, "spot-interruption:2026-11-25T10:02:00Z");
  assert.equal(b.id, a.id);
});

Deno.test("parseInstanceAction uses now + 120 s when the time has already passed", () => {
  const n = parseInstanceAction('{"action":"terminate","time":"2026-11-25T09:00:00Z"}', NOW);
  assert.deepEqual(n.deadline, new Date("2026-11-25T10:01:55Z"));
  assert.equal(n.id, "spot-interruption:2026-11-25T09:00:00Z");
});

Deno.test("parseInstanceAction rejects malformed bodies naming the path", () => {
  const cases: [string, ErrorConstructor][] = [
    ["", SyntaxError],
    ['{"action": "termin', SyntaxError],
    ["<html>oops</html>", SyntaxError],
    ["[]", TypeError],
    ["null", TypeError],
    ['{"time":"2026-11-25T10:02:00Z"}', TypeError],
    ['{"action":"","time":"2026-11-25T10:02:00Z"}', TypeError],
    ['{"action":"terminate"}', TypeError],
    ['{"action":"terminate","time":1764064920}', TypeError],
    ['{"action":"terminate","time":"tomorrow"}', SyntaxError],
    ['{"action":"terminate","time":"2026-13-25T10:02:00Z"}', SyntaxError],
  ];
  for (const [body, type] of cases) {
    assert.throws(() => parseInstanceAction(body, NOW), (err: Error) => {
      assert.ok(err instanceof type, `${body}: ${err}`);
      assert.match(err.message, /meta-data\/spot\/instance-action/);
      return true;
    });
  }
});

Deno.test("parseTerminationTime reads a plain time and matches the instance-action id", () => {
  const n = parseTerminationTime("2026-11-25T10:02:00Z\n", NOW);
  assert.equal(n.id, "spot-interruption:2026-11-25T10:02:00Z");
  assert.equal(n.action, "terminate");
  assert.equal(n.kind, "spot-interruption");
  assert.deepEqual(n.deadline, new Date("2026-11-25T10:01:55Z"));
  const fromAction = parseInstanceAction(
    '{"action":"terminate","time":"2026-11-25T10:02:00Z"}',
    NOW,
  );
  assert.equal(n.id, fromAction.id);
});

Deno.test("parseTerminationTime rejects anything but an RFC 3339 time", () => {
  for (const body of ["", "soon", '{"time":"2026-11-25T10:02:00Z"}', "2026-11-25", "1764064920"]) {
    assert.throws(() => parseTerminationTime(body, NOW), /meta-data\/spot\/termination-time/);
  }
});

Deno.test("parseRebalance keeps one id whatever the noticeTime, so a moving time is one notice", () => {
  const a = parseRebalance('{"noticeTime":"2026-11-25T09:59:30Z"}', NOW);
  const b = parseRebalance('{"noticeTime":"2026-11-25T09:59:31Z"}', NOW);
  assert.equal(a.id, b.id);
});

Deno.test("parseRebalance reads noticeTime; the deadline counts from now", () => {
  const body = '{"noticeTime":"2026-11-25T09:59:30Z"}';
  const n = parseRebalance(body, NOW);
  assert.equal(n.id, "rebalance-recommendation");
  assert.equal(n.kind, "rebalance-recommendation");
  assert.deepEqual(n.noticeTime, new Date("2026-11-25T09:59:30Z"));
  assert.deepEqual(n.deadline, new Date("2026-11-25T10:01:55Z"));
  assert.equal(n.raw, body);
  for (const bad of ["{", "[]", "{}", '{"noticeTime":"yesterday"}', '{"noticeTime":5}']) {
    assert.throws(() => parseRebalance(bad, NOW), /meta-data\/events\/recommendations\/rebalance/);
  }
});

Deno.test("parseScheduledEvents returns active events and skips completed and canceled ones", () => {
  const event = (state: string, id: string, notBefore = "1 Dec 2026 09:00:43 GMT") => ({
    Code: "system-reboot",
    Description: "scheduled reboot",
    State: state,
    EventId: id,
    NotBefore: notBefore,
    NotAfter: "1 Dec 2026 11:00:43 GMT",
  });
  const body = JSON.stringify([
    event("active", "instance-event-1"),
    event("Completed", "instance-event-2"),
    event("canceled", "instance-event-3"),
    event("Canceled", "instance-event-4"),
    event("scheduled", "instance-event-5", "25 Nov 2026 10:01:00 GMT"),
  ]);
  const notices = parseScheduledEvents(body, NOW);
  assert.deepEqual(notices.map((n) => n.id), [
    "scheduled-maintenance:instance-event-1",
    "scheduled-maintenance:instance-event-5",
  ]);
  assert.deepEqual(notices[0].noticeTime, new Date("2026-12-01T09:00:43Z"));
  assert.deepEqual(notices[0].deadline, new Date("2026-12-01T09:00:38Z"));
  assert.equal(notices[0].action, "system-reboot");
  assert.deepEqual(JSON.parse(notices[0].raw), event("active", "instance-event-1"));
  assert.deepEqual(notices[1].deadline, new Date("2026-11-25T10:00:55Z"));
  assert.deepEqual(notices[0].notAfter, new Date("2026-12-01T11:00:43Z"));
  assert.deepEqual(parseScheduledEvents("[]", NOW), []);
  assert.deepEqual(parseScheduledEvents("", NOW), []);
});

Deno.test("parseScheduledEvents reads the times the mock writes", () => {
  const at = new Date("2026-01-05T07:08:09Z");
  const body = JSON.stringify([{
    Code: "instance-stop",
    Description: "d",
    State: "active",
    EventId: "e-1",
    NotBefore: formatEventTime(at),
  }]);
  assert.deepEqual(parseScheduledEvents(body, NOW)[0].noticeTime, at);
});

Deno.test("parseScheduledEvents rejects malformed bodies naming the path and the event", () => {
  const good = { Code: "c", Description: "d", State: "active", EventId: "e", NotBefore: "" };
  const bad: [unknown, RegExp][] = [
    [{}, /expected a JSON array/],
    [[null], /\[0\]: expected an object/],
    [[{ ...good, EventId: undefined, NotBefore: "1 Dec 2026 09:00:43 GMT" }], /\[0\]: "EventId"/],
    [[{ ...good, NotBefore: "Dec 1 2026" }], /\[0\] "NotBefore": not a time/],
    [[{ ...good, NotBefore: "31 Feb 2026 09:00:43 GMT" }], /no such time/],
    [[{ ...good, NotBefore: "1 Dec 2026 25:00:43 GMT" }], /no such time/],
    [[{ ...good, NotBefore: 12 }], /\[0\] "NotBefore": expected a time string/],
  ];
  for (const [value, pattern] of bad) {
    assert.throws(
      () => parseScheduledEvents(JSON.stringify(value), NOW),
      (err: Error) => {
        assert.match(err.message, /meta-data\/events\/maintenance\/scheduled/);
        assert.match(err.message, pattern);
        return true;
      },
    );
  }
  assert.throws(() => parseScheduledEvents("[{", NOW), SyntaxError);
});

Deno.test("parseLifecycleState turns Terminated into a notice and other states into null", () => {
  for (const state of ["InService", "Pending", "Standby", "Detached", "Warmed:Running"]) {
    assert.equal(parseLifecycleState(state, NOW), null, state);
  }
  const n = parseLifecycleState("Terminated\n", NOW);
  assert.deepEqual(n, {
    id: "asg-termination:Terminated",
    kind: "asg-termination",
    noticeTime: NOW,
    deadline: new Date("2026-11-25T10:01:55Z"),
    action: "Terminated",
    raw: "Terminated\n",
  });
  for (const bad of ["", "{", "<html>", "In Service", '"Terminated"']) {
    assert.throws(
      () => parseLifecycleState(bad, NOW),
      /meta-data\/autoscaling\/target-lifecycle-state/,
    );
  }
});

Deno.test("spot and rebalance times more than 10 minutes ahead are refused as implausible", () => {
  const ahead = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
  const cases: [string, (time: string) => unknown][] = [
    [
      NOTICE_PATHS.instanceAction,
      (t) => parseInstanceAction(`{"action":"stop","time":"${t}"}`, NOW),
    ],
    [NOTICE_PATHS.terminationTime, (t) => parseTerminationTime(t, NOW)],
    [NOTICE_PATHS.rebalance, (t) => parseRebalance(`{"noticeTime":"${t}"}`, NOW)],
  ];
  for (const [path, parse] of cases) {
    for (const far of ["9999-12-31T23:59:59Z", ahead(SPOT_HORIZON_MS + 1000)]) {
      assert.throws(() => parse(far), (err: Error) => {
        assert.ok(err instanceof RangeError, `${path} ${far}: ${err}`);
        assert.ok(err.message.startsWith(path), err.message);
        assert.match(err.message, /is more than 10 minutes ahead; not a plausible notice time/);
        return true;
      });
    }
    parse(ahead(SPOT_HORIZON_MS - 1000));
    parse("2026-11-25T09:00:00Z");
  }
  assert.equal(SPOT_HORIZON_MS, 600_000);
});

Deno.test("scheduled events more than 60 days ahead are refused; within 60 days they are notices", () => {
  const event = (notBefore: Date) =>
    JSON.stringify([{
      Code: "instance-retirement",
      Description: "retirement",
      State: "active",
      EventId: "instance-event-1",
      NotBefore: formatEventTime(notBefore),
    }]);
  const day = 86_400_000;
  const near = new Date(NOW.getTime() + 59 * day);
  assert.deepEqual(parseScheduledEvents(event(near), NOW)[0].noticeTime, near);
  for (const far of [new Date(NOW.getTime() + 61 * day), new Date("9999-12-31T00:00:00Z")]) {
    assert.throws(
      () => parseScheduledEvents(event(far), NOW),
      /scheduled\[0\] "NotBefore": .* is more than 60 days ahead/,
    );
  }
  assert.equal(MAINTENANCE_HORIZON_MS, 60 * day);
});

Deno.test("the table lists the five IMDS paths in poll order, with their intervals", () => {
  assert.deepEqual(
    Object.entries(NOTICE_SOURCES).map(([name, s]) => [name, s.path, s.everyMs]),
    [
      ["instanceAction", "meta-data/spot/instance-action", undefined],
      ["terminationTime", "meta-data/spot/termination-time", undefined],
      ["rebalance", "meta-data/events/recommendations/rebalance", 5_000],
      ["scheduledEvents", "meta-data/events/maintenance/scheduled", 60_000],
      ["lifecycleState", "meta-data/autoscaling/target-lifecycle-state", 5_000],
    ],
  );
  assert.deepEqual(
    Object.values(NOTICE_PATHS),
    Object.values(NOTICE_SOURCES).map((s) => s.path),
  );
  assert.equal(NOTICE_SOURCES.terminationTime.defersTo, NOTICE_SOURCES.instanceAction);
});

Deno.test("every source in the table refuses garbage with a malformed-kind error that starts with its path", () => {
  for (const source of Object.values(NOTICE_SOURCES)) {
    for (const body of ["<html>oops</html>", "{", '"quoted"']) {
      assert.throws(() => source.parse(body, NOW), (err: Error) => {
        assert.ok(
          err instanceof SyntaxError || err instanceof TypeError || err instanceof RangeError,
          `${source.path} ${body}: ${err}`,
        );
        assert.ok(err.message.startsWith(source.path), err.message);
        return true;
      });
    }
  }
});

Deno.test("every source in the table reads a well-formed answer into notices of its own", () => {
  const answers: Record<keyof typeof NOTICE_SOURCES, [string, string[]]> = {
    instanceAction: [
      '{"action":"terminate","time":"2026-11-25T10:02:00Z"}',
      ["spot-interruption:2026-11-25T10:02:00Z"],
    ],
    terminationTime: ["2026-11-25T10:02:00Z", ["spot-interruption:2026-11-25T10:02:00Z"]],
    rebalance: ['{"noticeTime":"2026-11-25T09:59:00Z"}', ["rebalance-recommendation"]],
    scheduledEvents: [
      '[{"Code":"system-reboot","EventId":"e-1","State":"active","NotBefore":"1 Dec 2026 09:00:43 GMT"}]',
      ["scheduled-maintenance:e-1"],
    ],
    lifecycleState: ["Terminated", ["asg-termination:Terminated"]],
  };
  for (const [name, source] of Object.entries(NOTICE_SOURCES)) {
    const [body, ids] = answers[name as keyof typeof NOTICE_SOURCES];
    assert.deepEqual(source.parse(body, NOW).map((n) => n.id), ids, name);
  }
  assert.deepEqual(NOTICE_SOURCES.lifecycleState.parse("InService", NOW), []);
  assert.deepEqual(
    NOTICE_SOURCES.scheduledEvents.finished?.(
      '[{"Code":"system-reboot","EventId":"e-2","State":"Completed"}]',
    ),
    [{ id: "scheduled-maintenance:e-2", state: "completed", code: "system-reboot" }],
  );
});

Deno.test("a maintenance event's revision is its NotBefore, so moving it makes a new one; spot notices have none", () => {
  const event = (notBefore: string) =>
    JSON.stringify([{
      Code: "system-reboot",
      State: "active",
      EventId: "e-1",
      NotBefore: notBefore,
    }]);
  const [a] = parseScheduledEvents(event("9 Dec 2026 09:00:00 GMT"), NOW);
  const [b] = parseScheduledEvents(event("11 Dec 2026 09:00:00 GMT"), NOW);
  assert.equal(a.id, b.id);
  assert.equal(a.revision, "2026-12-09T09:00:00.000Z");
  assert.equal(b.revision, "2026-12-11T09:00:00.000Z");
  const spot = parseInstanceAction(
    JSON.stringify({ action: "terminate", time: new Date(NOW.getTime() + 120_000).toISOString() }),
    NOW,
  );
  assert.equal(spot.revision, undefined);
});
