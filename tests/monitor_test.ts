import assert from "node:assert/strict";
import { sleep } from "../lib/_async.ts";
import { createImds, type Imds } from "../lib/imds.ts";
import { ImdsError, type ImdsResponse } from "../lib/imds_http.ts";
import { createLogger, createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { createMonitor, type MonitorOptions } from "../lib/monitor.ts";
import { NOTICE_PATHS, NOTICE_SOURCES } from "../lib/sources.ts";
import { computeDeadline, type Notice } from "../lib/notice.ts";
import type { NoticeSource } from "../lib/notice_source.ts";
import { startMockImds } from "../tools/mock_imds.ts";
import { startTokenTrap } from "../tools/hostile_imds.ts";

const NOW = new Date("2026-11-25T10:00:00Z");

// ---------------------------------------------------------------- fakes

type Answer = ImdsResponse | Error;

/** An Imds whose answers per path come from a function; records requested paths. */
function fakeImds(answer: (path: string, call: number) => Answer) {
  const calls: string[] = [];
  let round = 0;
  const imds: Imds & { calls: string[]; nextRound(): void } = {
    calls,
    nextRound: () => round++,
    get(path) {
      calls.push(path);
      const a = answer(path, round);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    identity: () => Promise.reject(new Error("not used")),
  };
  return imds;
}

const NOT_FOUND: ImdsResponse = { status: 404, body: "Not Found" };

/**
 * A fake clock for `run()`: each wake-up first lets every poll in flight settle, then moves the
 * clock on by the interval; `run()` is stopped after `wakeups` wake-ups, so polls start at 0, 1,
 * … wakeups-1 intervals. The settling is a zero-delay timer, not a wait on time: it is the next
 * event-loop task, which runs only after every pending promise callback (the fake IMDS answers
 * at once, so every poll it started has finished by then). A message channel would not do:
 * Deno may deliver its messages before the promise callbacks.
 */
function fakeClock(wakeups: number) {
  const controller = new AbortController();
  let t = NOW.getTime();
  let count = 0;
  return {
    signal: controller.signal,
    now: () => new Date(t),
    elapsed: () => t - NOW.getTime(),
    sleep: async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      t += ms;
      if (++count >= wakeups) controller.abort();
    },
  };
}

/** An Imds on a fake clock: answers per path and elapsed time ("hang": until aborted). */
function clockedImds(
  clock: { elapsed(): number },
  answer: (path: string, at: number) => Answer | "hang",
) {
  const calls: { path: string; at: number }[] = [];
  const imds: Imds & { calls: typeof calls; times(path: string): number[] } = {
    calls,
    times: (path) => calls.filter((c) => c.path === path).map((c) => c.at),
    get(path, options) {
      const at = clock.elapsed();
      calls.push({ path, at });
      const a = answer(path, at);
      if (a === "hang") {
        return new Promise((_, reject) => {
          options?.signal?.addEventListener(
            "abort",
            () => reject(new ImdsError("aborted", path)),
            { once: true },
          );
        });
      }
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    identity: () => Promise.reject(new Error("not used")),
  };
  return imds;
}

/** A 1 s monitor on a fake clock that fails the test if any notice is dispatched. */
function quietMonitor(
  imds: Imds,
  clock: ReturnType<typeof fakeClock>,
  metrics: ReturnType<typeof createMetrics>,
) {
  return clockedMonitor(imds, clock, {
    metrics,
    onNotice: () => assert.fail("no notice expected"),
  });
}

/** A monitor on the fake clock: 1 s interval, a quiet log, notices dropped, unless `options` says otherwise. */
function clockedMonitor(
  imds: Imds,
  clock: ReturnType<typeof fakeClock>,
  options: Partial<MonitorOptions> = {},
) {
  return createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: clock.now,
    sleep: clock.sleep,
    onNotice: () => {},
    ...options,
  });
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

// ---------------------------------------------------------------- monitor

Deno.test("monitor dispatches a spot notice once though both endpoints report it on every poll", async () => {
  const mock = startMockImds({
    requireToken: true,
    scenario: { spot: { action: "terminate", time: "2026-11-25T10:02:00Z" } },
  });
  try {
    const seen: Notice[] = [];
    const logger = createMemoryLogger();
    const monitor = createMonitor(createImds({ endpoint: mock.url }), {
      pollIntervalMs: 1000,
      logger,
      now: () => NOW,
      onNotice: (n) => void seen.push(n),
    });
    for (let i = 0; i < 3; i++) {
      const found = await monitor.pollOnce();
      assert.deepEqual(found.map((n) => n.id), ["spot-interruption:2026-11-25T10:02:00Z"]);
    }
    assert.equal(seen.length, 1);
    assert.equal(seen[0].action, "terminate");
    assert.deepEqual(seen[0].deadline, new Date("2026-11-25T10:01:55Z"));
    assert.equal(logger.lines.filter((l) => l.includes("notice received")).length, 1);
    // Each round asked all five sources.
    const gets = mock.requests.filter((r) => r.method === "GET").map((r) => r.path);
    for (const path of Object.values(NOTICE_PATHS)) {
      assert.equal(gets.filter((p) => p === `/latest/${path}`).length, 3, path);
    }
  } finally {
    await mock.close();
  }
});

Deno.test("monitor dispatches rebalance, maintenance and ASG notices from the mock", async () => {
  const mock = startMockImds({
    scenario: {
      rebalance: { noticeTime: "2026-11-25T09:59:00Z" },
      maintenance: [{
        Code: "instance-stop",
        Description: "stop",
        State: "active",
        EventId: "instance-event-0abc",
        NotBefore: "1 Dec 2026 09:00:43 GMT",
      }],
      lifecycleState: "Terminated",
    },
  });
  try {
    const seen: string[] = [];
    const monitor = createMonitor(createImds({ endpoint: mock.url }), {
      pollIntervalMs: 1000,
      logger: createMemoryLogger(),
      onNotice: (n) => void seen.push(n.id),
    });
    await monitor.pollOnce();
    assert.deepEqual(seen.sort(), [
      "asg-termination:Terminated",
      "rebalance-recommendation",
      "scheduled-maintenance:instance-event-0abc",
    ]);
  } finally {
    await mock.close();
  }
});

Deno.test("monitor keeps polling the other sources when one answers garbage", async () => {
  const mock = startMockImds({ scenario: { spot: { time: "2026-11-25T10:02:00Z" } } });
  try {
    mock.fault({ malformed: true, path: NOTICE_PATHS.instanceAction });
    const seen: string[] = [];
    const logger = createMemoryLogger();
    const metrics = createMetrics();
    const monitor = createMonitor(createImds({ endpoint: mock.url }), {
      pollIntervalMs: 1000,
      logger,
      metrics,
      onNotice: (n) => void seen.push(n.id),
    });
    await monitor.pollOnce();
    assert.deepEqual(
      seen,
      ["spot-interruption:2026-11-25T10:02:00Z"],
      "termination-time still seen",
    );
    assert.equal(metrics.get("sth_imds_poll_errors_total", { kind: "malformed" }), 1);
    const warn = logger.lines.find((l) => l.includes("WARN"));
    assert.match(
      warn ?? "",
      /IMDS poll failed path=meta-data\/spot\/instance-action kind=malformed/,
    );
  } finally {
    await mock.close();
  }
});

Deno.test("monitor counts a timeout and still reports what the other sources said", async () => {
  const mock = startMockImds({ scenario: { lifecycleState: "Terminated" } });
  try {
    mock.fault({ hang: true, path: NOTICE_PATHS.rebalance });
    const metrics = createMetrics();
    const monitor = createMonitor(createImds({ endpoint: mock.url, timeoutMs: 500 }), {
      pollIntervalMs: 1000,
      logger: createMemoryLogger(),
      metrics,
      onNotice: () => {},
    });
    const found = await monitor.pollOnce();
    assert.deepEqual(found.map((n) => n.id), ["asg-termination:Terminated"]);
    assert.equal(metrics.get("sth_imds_poll_errors_total", { kind: "timeout" }), 1);
  } finally {
    await mock.close();
  }
});

for (
  const [fault, kind] of [[{ body: "endless" }, "too_large"], [{ body: "huge" }, "too_large"], [
    { redirect: "trap" },
    "redirect",
  ]] as const
) {
  Deno.test(`monitor warns once with kind=${kind} for ${JSON.stringify(fault)} and keeps polling`, async () => {
    const mock = startMockImds({ scenario: { spot: { time: "2026-11-25T10:02:00Z" } } });
    const trap = startTokenTrap();
    try {
      const redirect = "redirect" in fault ? { redirect: `${trap.url}/latest/x` } : fault;
      mock.fault({ ...redirect, path: NOTICE_PATHS.instanceAction });
      const logger = createMemoryLogger();
      const metrics = createMetrics();
      const seen: string[] = [];
      const monitor = createMonitor(createImds({ endpoint: mock.url }), {
        pollIntervalMs: 1000,
        logger,
        metrics,
        now: () => NOW,
        onNotice: (n) => void seen.push(n.id),
      });
      for (let i = 0; i < 3; i++) await monitor.pollOnce();
      const warnings = logger.lines.filter((l) => l.includes("WARN"));
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(
        warnings[0],
        new RegExp(`IMDS poll failed path=meta-data/spot/instance-action kind=${kind} `),
      );
      assert.equal(metrics.get("sth_imds_poll_errors_total", { kind }), 3);
      assert.deepEqual(
        seen,
        ["spot-interruption:2026-11-25T10:02:00Z"],
        "termination-time still seen",
      );
      assert.deepEqual(trap.requests, []);
    } finally {
      await trap.close();
      await mock.close();
    }
  });
}

Deno.test("monitor treats a notice time of 9999-12-31 as malformed for that poll, with a warning", async () => {
  const imds = fakeImds((path) =>
    path === NOTICE_PATHS.instanceAction
      ? { status: 200, body: '{"action":"terminate","time":"9999-12-31T23:59:59Z"}' }
      : NOT_FOUND
  );
  const logger = createMemoryLogger();
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger,
    now: () => NOW,
    onNotice: () => assert.fail("a date 8,000 years away is no deadline"),
  });
  assert.deepEqual(await monitor.pollOnce(), []);
  const warnings = logger.lines.filter((l) => l.includes("WARN"));
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /IMDS poll failed path=meta-data\/spot\/instance-action kind=malformed .*9999-12-31T23:59:59.000Z is more than 10 minutes ahead/,
  );
});

Deno.test("monitor logs NOTICE_URL failures without the URL's user-info", async () => {
  const mock = startMockImds();
  try {
    const port = new URL(mock.url).port;
    const noticeUrl = `http://ops:s3cr3t@127.0.0.1:${port}/custom/termination-time`;
    mock.fault({ status: 500, path: "custom/termination-time" });
    const logger = createMemoryLogger("debug");
    const monitor = createMonitor(createImds({ endpoint: mock.url }), {
      pollIntervalMs: 1000,
      noticeUrl,
      logger,
      onNotice: () => {},
    });
    await monitor.pollOnce();
    await monitor.pollOnce();
    const about = logger.lines.filter((l) => l.includes("custom/termination-time"));
    assert.equal(about.length, 2, logger.lines.join("\n"));
    assert.match(
      about[0],
      /path="?http:\/\/\*\*\*@127\.0\.0\.1:\d+\/custom\/termination-time"? kind=http_5xx/,
    );
    assert.ok(!logger.lines.join("\n").includes("s3cr3t"), logger.lines.join("\n"));
  } finally {
    await mock.close();
  }
});

Deno.test("monitor polls NOTICE_URL instead of the default termination-time path", async () => {
  const url = "http://127.0.0.1:9/custom/termination-time";
  const imds = fakeImds((path) =>
    path === url ? { status: 200, body: "2026-11-25T10:02:00Z" } : NOT_FOUND
  );
  const seen: string[] = [];
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    noticeUrl: url,
    logger: createMemoryLogger(),
    onNotice: (n) => void seen.push(n.id),
  });
  await monitor.pollOnce();
  assert.ok(imds.calls.includes(url));
  assert.ok(!imds.calls.includes(NOTICE_PATHS.terminationTime));
  assert.deepEqual(seen, ["spot-interruption:2026-11-25T10:02:00Z"]);
});

Deno.test("monitor records polls and the last successful poll time, and logs empty polls at debug only", async () => {
  const metrics = createMetrics();
  const info = createMemoryLogger("info");
  const debug = createMemoryLogger("debug");
  for (const logger of [info, debug]) {
    const monitor = createMonitor(fakeImds(() => NOT_FOUND), {
      pollIntervalMs: 1000,
      logger,
      metrics,
      now: () => NOW,
      onNotice: () => assert.fail("no notice expected"),
    });
    assert.deepEqual(await monitor.pollOnce(), []);
  }
  assert.deepEqual(info.lines, []);
  assert.equal(debug.lines.length, 1);
  assert.match(debug.lines[0], /DEBUG IMDS poll found no notice/);
  assert.equal(metrics.get("sth_imds_polls_total"), 2);
  assert.equal(metrics.get("sth_last_successful_poll_timestamp_seconds"), NOW.getTime() / 1000);
});

Deno.test("monitor does not move the last successful poll time when IMDS does not answer", async () => {
  const metrics = createMetrics();
  const monitor = createMonitor(
    fakeImds((path) => new ImdsError("refused", path)),
    { pollIntervalMs: 1000, logger: createMemoryLogger(), metrics, onNotice: () => {} },
  );
  await monitor.pollOnce();
  assert.equal(metrics.get("sth_last_successful_poll_timestamp_seconds"), 0);
  assert.equal(metrics.get("sth_imds_poll_errors_total", { kind: "refused" }), 5);
  assert.equal(metrics.get("sth_imds_polls_total"), 1);
});

Deno.test("monitor.status: the last wake-up and the last IMDS answer, on the monitor's clock", async () => {
  const clock = fakeClock(10);
  // IMDS answers (404) for the first 3 s, then cannot be reached.
  const imds = clockedImds(
    clock,
    (path, at) => at < 3_000 ? NOT_FOUND : new ImdsError("refused", path),
  );
  const metrics = createMetrics();
  const monitor = quietMonitor(imds, clock, metrics);
  assert.deepEqual(monitor.status(), { lastRoundAt: NOW.getTime() }, "before the first round");
  await monitor.run(clock.signal);
  assert.deepEqual(monitor.status(), {
    lastRoundAt: NOW.getTime() + 9_000,
    lastSuccessAt: NOW.getTime() + 2_000,
  });
  assert.equal(
    metrics.get("sth_last_successful_poll_timestamp_seconds") * 1000,
    NOW.getTime() + 2_000,
    "the metric and the status disagree",
  );
});

Deno.test("monitor asks spot every interval, rebalance and lifecycle every 5 s, scheduled events every 60 s", async () => {
  const clock = fakeClock(120);
  const imds = clockedImds(clock, () => NOT_FOUND);
  const metrics = createMetrics();
  await quietMonitor(imds, clock, metrics).run(clock.signal);
  assert.equal(imds.times(NOTICE_PATHS.instanceAction).length, 120);
  assert.equal(imds.times(NOTICE_PATHS.terminationTime).length, 120);
  assert.deepEqual(imds.times(NOTICE_PATHS.rebalance), range(0, 115_000, 5_000));
  assert.deepEqual(imds.times(NOTICE_PATHS.lifecycleState), range(0, 115_000, 5_000));
  assert.deepEqual(imds.times(NOTICE_PATHS.scheduledEvents), [0, 60_000]);
  assert.equal(imds.calls.length, 2 * 120 + 24 + 24 + 2, "290 requests instead of 600");
  assert.equal(metrics.get("sth_imds_polls_total"), 120, "one round per wake-up");
});

Deno.test("monitor: a path failing with 5xx and one hanging never slow spot, which is still seen at its interval", async () => {
  const clock = fakeClock(30);
  const noticeAt = 7_300;
  const imds = clockedImds(clock, (path, at) => {
    if (path === NOTICE_PATHS.rebalance) return new ImdsError("http", path, { status: 500 });
    if (path === NOTICE_PATHS.lifecycleState) return "hang";
    if (path === NOTICE_PATHS.instanceAction && at >= noticeAt) {
      return { status: 200, body: '{"action":"terminate","time":"2026-11-25T10:02:00Z"}' };
    }
    return NOT_FOUND;
  });
  const seen: { id: string; at: number }[] = [];
  const logger = createMemoryLogger();
  await clockedMonitor(imds, clock, {
    logger,
    onNotice: (n) => void seen.push({ id: n.id, at: clock.elapsed() }),
  }).run(clock.signal);
  // Detected on the first poll after it appeared, as if nothing else were failing.
  assert.deepEqual(seen, [{ id: "spot-interruption:2026-11-25T10:02:00Z", at: 8_000 }]);
  assert.deepEqual(imds.times(NOTICE_PATHS.instanceAction), range(0, 29_000, 1_000));
  assert.deepEqual(imds.times(NOTICE_PATHS.terminationTime), range(0, 29_000, 1_000));
  // The failing source backs off on its own schedule: 5 s doubled, at most 10 s.
  assert.deepEqual(imds.times(NOTICE_PATHS.rebalance), [0, 10_000, 20_000]);
  // The hanging one is not asked again while its request is in flight.
  assert.deepEqual(imds.times(NOTICE_PATHS.lifecycleState), [0]);
  const warnings = logger.lines.filter((l) => l.includes("WARN"));
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /IMDS poll failed path=meta-data\/events\/recommendations\/rebalance kind=http_5xx/,
  );
});

Deno.test("monitor backs a failing spot path off up to 10 s, then logs recovery with the streak length", async () => {
  let failures = 0;
  const clock = fakeClock(47);
  const imds = clockedImds(clock, (path) => {
    if (path === NOTICE_PATHS.instanceAction && failures < 6) {
      failures++;
      return new ImdsError("http", path, { status: 503 });
    }
    return NOT_FOUND;
  });
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  await clockedMonitor(imds, clock, {
    logger,
    metrics,
  }).run(clock.signal);
  const times = imds.times(NOTICE_PATHS.instanceAction);
  assert.deepEqual(times, [0, 2_000, 6_000, 14_000, 24_000, 34_000, 44_000, 45_000, 46_000]);
  assert.deepEqual(times.slice(1).map((t, i) => t - times[i]), [
    2000,
    4000,
    8000,
    10000,
    10000,
    10000,
    1000,
    1000,
  ]);
  assert.equal(imds.times(NOTICE_PATHS.terminationTime).length, 47, "its twin kept its pace");
  assert.equal(metrics.get("sth_imds_poll_errors_total", { kind: "http_5xx" }), 6);
  const about = logger.lines.filter((l) => l.includes("path=meta-data/spot/instance-action"));
  assert.equal(about.length, 7);
  assert.match(
    about[0],
    /WARN +IMDS poll failed path=meta-data\/spot\/instance-action kind=http_5xx/,
  );
  assert.match(about[0], /HTTP 503/);
  for (const line of about.slice(1, 6)) assert.match(line, /DEBUG IMDS poll still failing/);
  assert.match(
    about[6],
    /INFO +IMDS poll recovered path=meta-data\/spot\/instance-action failures=6/,
  );
});

Deno.test("monitor backoff is never shorter than a poll interval above 10 s, for every source", async () => {
  const clock = fakeClock(4);
  const imds = clockedImds(clock, (path) => new ImdsError("timeout", path));
  await clockedMonitor(imds, clock, {
    pollIntervalMs: 30_000,
  }).run(clock.signal);
  const every30s = [0, 30_000, 60_000, 90_000];
  assert.deepEqual(imds.times(NOTICE_PATHS.instanceAction), every30s);
  assert.deepEqual(
    imds.times(NOTICE_PATHS.rebalance),
    every30s,
    "5 s sources follow a slower interval",
  );
  assert.deepEqual(imds.times(NOTICE_PATHS.scheduledEvents), [0, 60_000]);
});

Deno.test("monitor does not back off for a source that answers garbage", async () => {
  const clock = fakeClock(20);
  const imds = clockedImds(
    clock,
    (path) => path === NOTICE_PATHS.rebalance ? { status: 200, body: "{oops" } : NOT_FOUND,
  );
  const logger = createMemoryLogger();
  await clockedMonitor(imds, clock, {
    logger,
  }).run(clock.signal);
  assert.deepEqual(imds.times(NOTICE_PATHS.rebalance), [0, 5_000, 10_000, 15_000]);
  assert.equal(logger.lines.filter((l) => l.includes("WARN")).length, 1, "warned once");
});

Deno.test("monitor warns again when a failing source fails in a new way", async () => {
  let calls = 0;
  const clock = fakeClock(26);
  const imds = clockedImds(clock, (path) => {
    if (path !== NOTICE_PATHS.lifecycleState) return NOT_FOUND;
    return ++calls <= 2 ? new ImdsError("timeout", path) : { status: 200, body: "<html>" };
  });
  const logger = createMemoryLogger();
  await clockedMonitor(imds, clock, {
    logger,
  }).run(clock.signal);
  assert.deepEqual(imds.times(NOTICE_PATHS.lifecycleState), [0, 10_000, 20_000, 25_000]);
  const warnings = logger.lines.filter((l) => l.includes("WARN"));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /kind=timeout/);
  assert.match(warnings[1], /kind=malformed .*failures=3/);
});

Deno.test("monitor dispatches instance-action's answer (stop) though termination-time's came first", async () => {
  const held = Promise.withResolvers<ImdsResponse>();
  let hold = false;
  const time = "2026-11-25T10:02:00Z";
  const imds = fakeImds((path) => {
    if (path === NOTICE_PATHS.terminationTime && hold) return { status: 200, body: time };
    return NOT_FOUND;
  });
  const get = imds.get;
  imds.get = (path, options) =>
    hold && path === NOTICE_PATHS.instanceAction ? held.promise : get(path, options);
  const seen: Notice[] = [];
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: () => NOW,
    onNotice: (n) => void seen.push(n),
  });
  await monitor.pollOnce();
  hold = true;
  const round = monitor.pollOnce();
  // Everything but the held answer settles before the next event-loop task.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.ok(imds.calls.filter((p) => p === NOTICE_PATHS.terminationTime).length === 2);
  assert.equal(seen.length, 0, "termination-time's notice waits for instance-action's answer");
  held.resolve({ status: 200, body: JSON.stringify({ action: "stop", time }) });
  await round;
  assert.deepEqual(seen.map((n) => [n.id, n.action]), [[`spot-interruption:${time}`, "stop"]]);
});

Deno.test("monitor does not hold termination-time's notice for an instance-action path that is failing", async () => {
  const time = "2026-11-25T10:02:00Z";
  const never = Promise.withResolvers<ImdsResponse>();
  let round = 0;
  const imds = fakeImds((path) =>
    path === NOTICE_PATHS.terminationTime && round === 2 ? { status: 200, body: time } : NOT_FOUND
  );
  const get = imds.get;
  imds.get = (path, options) => {
    if (path !== NOTICE_PATHS.instanceAction) return get(path, options);
    // First a 5xx, then a request that does not come back (until the test ends it).
    return round === 1
      ? Promise.reject(new ImdsError("http", path, { status: 500 }))
      : never.promise;
  };
  const seen: Notice[] = [];
  const dispatched = Promise.withResolvers<void>();
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: () => NOW,
    onNotice: (n) => {
      seen.push(n);
      dispatched.resolve();
    },
  });
  round = 1;
  assert.deepEqual(await monitor.pollOnce(), []);
  round = 2;
  const second = monitor.pollOnce();
  await withBound(dispatched.promise, "termination-time's notice waited for a failing path");
  assert.deepEqual(seen.map((n) => [n.id, n.action]), [[`spot-interruption:${time}`, "terminate"]]);
  never.resolve(NOT_FOUND);
  await second;
});

Deno.test("monitor waits for instance-action on the first round too, so a restart still sees stop", async () => {
  const time = "2026-11-25T10:02:00Z";
  const held = Promise.withResolvers<ImdsResponse>();
  const imds = fakeImds((path) =>
    path === NOTICE_PATHS.terminationTime ? { status: 200, body: time } : NOT_FOUND
  );
  const get = imds.get;
  imds.get = (path, options) =>
    path === NOTICE_PATHS.instanceAction ? held.promise : get(path, options);
  const seen: string[] = [];
  const round = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: () => NOW,
    onNotice: (n) => void seen.push(n.action),
  }).pollOnce();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(seen.length, 0);
  held.resolve({ status: 200, body: JSON.stringify({ action: "hibernate", time }) });
  await round;
  assert.deepEqual(seen, ["hibernate"]);
});

Deno.test("monitor logs a failing notice handler and keeps going", async () => {
  let body = '{"action":"terminate","time":"2026-11-25T10:02:00Z"}';
  const imds = fakeImds((path) =>
    path === NOTICE_PATHS.instanceAction ? { status: 200, body } : NOT_FOUND
  );
  const errors: string[] = [];
  const bothLogged = Promise.withResolvers<void>();
  const logger = createLogger({
    level: "error",
    write: (line) => {
      errors.push(line);
      if (errors.length === 2) bothLogged.resolve();
    },
  });
  let calls = 0;
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger,
    onNotice: (n) => {
      calls++;
      if (n.id.endsWith("10:02:00Z")) throw new Error("boom");
      return Promise.reject(new Error("async boom"));
    },
  });
  await monitor.pollOnce();
  body = '{"action":"terminate","time":"2026-11-25T10:03:00Z"}';
  await monitor.pollOnce();
  await withBound(bothLogged.promise, "the rejected handler was not logged");
  assert.equal(calls, 2);
  assert.match(
    errors[0],
    /notice handler failed id=spot-interruption:2026-11-25T10:02:00Z error="boom"/,
  );
  assert.match(errors[1], /id=spot-interruption:2026-11-25T10:03:00Z error="async boom"/);
});

Deno.test("monitor.run returns promptly when aborted during its sleep", async () => {
  const sleeping = Promise.withResolvers<void>();
  const imds = fakeImds(() => NOT_FOUND);
  const controller = new AbortController();
  const monitor = createMonitor(imds, {
    pollIntervalMs: 3_600_000,
    logger: createMemoryLogger(),
    onNotice: () => {},
    sleep: (ms, signal) => {
      sleeping.resolve();
      return sleep(ms, signal);
    },
  });
  const running = monitor.run(controller.signal);
  await sleeping.promise;
  controller.abort();
  await withBound(running, "run() did not return after abort");
  assert.equal(imds.calls.length, 5, "one round only");
});

Deno.test("monitor.run returns promptly when aborted during a hanging poll", async () => {
  const mock = startMockImds();
  const started = Promise.withResolvers<void>();
  try {
    mock.fault({ hang: true });
    const imds = createImds({
      endpoint: mock.url,
      timeoutMs: 3_600_000,
      fetch: (input, init) => {
        started.resolve();
        return fetch(input, init);
      },
    });
    const controller = new AbortController();
    const metrics = createMetrics();
    const running = createMonitor(imds, {
      pollIntervalMs: 1000,
      logger: createMemoryLogger(),
      metrics,
      onNotice: () => {},
    }).run(controller.signal);
    await started.promise;
    controller.abort();
    await withBound(running, "run() did not return after abort");
    assert.equal(metrics.get("sth_imds_polls_total"), 0, "an aborted round is not counted");
    assert.equal(metrics.get("sth_imds_poll_errors_total", { kind: "aborted" }), 0);
  } finally {
    await mock.close();
  }
});

/** A source no AWS path has: one file's worth of definition, for the table tests below. */
const MADE_UP: NoticeSource = {
  path: "meta-data/events/made-up",
  everyMs: 3_000,
  parse(body, now, marginMs) {
    const word = body.trim();
    if (!/^[a-z]+$/.test(word)) {
      throw new SyntaxError(`meta-data/events/made-up: not a word: ${JSON.stringify(body)}`);
    }
    return [{
      id: `made-up:${word}`,
      kind: "scheduled-maintenance",
      noticeTime: now,
      deadline: computeDeadline(undefined, now, marginMs),
      action: word,
      raw: body,
    }];
  },
};

Deno.test("a source added to the table is polled on its own interval, its garbage logged and its notice dispatched once", async () => {
  const clock = fakeClock(12);
  const imds = clockedImds(clock, (path, at) => {
    if (path !== MADE_UP.path) return NOT_FOUND;
    if (at === 0) return { status: 200, body: "<html>" };
    return at < 6_000 ? NOT_FOUND : { status: 200, body: "reboot\n" };
  });
  const seen: { notice: Notice; at: number }[] = [];
  const logger = createMemoryLogger();
  await clockedMonitor(imds, clock, {
    logger,
    sources: { ...NOTICE_SOURCES, madeUp: MADE_UP },
    onNotice: (notice) => void seen.push({ notice, at: clock.elapsed() }),
  }).run(clock.signal);
  assert.deepEqual(imds.times(MADE_UP.path), [0, 3_000, 6_000, 9_000]);
  assert.deepEqual(seen.map((s) => [s.notice.id, s.notice.action, s.at]), [
    ["made-up:reboot", "reboot", 6_000],
  ]);
  assert.deepEqual(seen[0].notice.deadline, new Date(NOW.getTime() + 6_000 + 115_000));
  const about = logger.lines.filter((l) => l.includes("path=meta-data/events/made-up"));
  assert.equal(about.length, 2, about.join("\n"));
  assert.match(about[0], /WARN +IMDS poll failed path=\S+ kind=malformed .*not a word/);
  assert.match(about[1], /INFO +IMDS poll recovered path=\S+ failures=1/);
  // The table's own rows kept their schedules beside it.
  assert.equal(imds.times(NOTICE_PATHS.instanceAction).length, 12);
  assert.deepEqual(imds.times(NOTICE_PATHS.rebalance), [0, 5_000, 10_000]);
});

Deno.test("the default table has no made-up source, and a table of one source polls only that", async () => {
  const asked = fakeImds(() => NOT_FOUND);
  await createMonitor(asked, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    onNotice: () => {},
  }).pollOnce();
  assert.deepEqual(asked.calls, Object.values(NOTICE_PATHS));
  const alone = fakeImds(() => NOT_FOUND);
  await createMonitor(alone, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    sources: { madeUp: MADE_UP },
    onNotice: () => {},
  }).pollOnce();
  assert.deepEqual(alone.calls, [MADE_UP.path]);
});

Deno.test("createMonitor refuses a table whose source defers to a source not in it", () => {
  assert.throws(
    () =>
      createMonitor(fakeImds(() => NOT_FOUND), {
        pollIntervalMs: 1000,
        logger: createMemoryLogger(),
        sources: { terminationTime: NOTICE_SOURCES.terminationTime },
        onNotice: () => {},
      }),
    /notice source meta-data\/spot\/termination-time defers to meta-data\/spot\/instance-action, which is not in the table/,
  );
});

Deno.test("createMonitor rejects a poll interval that is not positive", () => {
  for (const bad of [0, -1, NaN, Infinity]) {
    assert.throws(
      () =>
        createMonitor(fakeImds(() => NOT_FOUND), {
          pollIntervalMs: bad,
          logger: createMemoryLogger(),
          onNotice: () => {},
        }),
      /pollIntervalMs/,
    );
  }
});

/** Fails the test instead of hanging it if `promise` never settles. */
async function withBound(promise: Promise<unknown>, message: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), 10_000);
  });
  try {
    await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("monitor reports completed and canceled maintenance events apart from the notices", async () => {
  const events = [
    {
      Code: "system-reboot",
      State: "active",
      EventId: "e-1",
      NotBefore: "1 Dec 2026 09:00:43 GMT",
    },
    {
      Code: "instance-stop",
      State: "canceled",
      EventId: "e-2",
      NotBefore: "1 Dec 2026 09:00:43 GMT",
    },
    {
      Code: "system-reboot",
      State: "Completed",
      EventId: "e-3",
      NotBefore: "1 Dec 2026 09:00:43 GMT",
    },
  ];
  const imds = fakeImds((path) =>
    path === NOTICE_PATHS.scheduledEvents
      ? { status: 200, body: JSON.stringify(events) }
      : NOT_FOUND
  );
  const finished: unknown[] = [];
  const seen: string[] = [];
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: () => NOW,
    onNotice: (n) => void seen.push(n.id),
    onFinishedEvents: (list) => void finished.push(list),
  });
  await monitor.pollOnce();
  assert.deepEqual(seen, ["scheduled-maintenance:e-1"]);
  assert.deepEqual(finished, [[
    { id: "scheduled-maintenance:e-2", state: "canceled", code: "instance-stop" },
    { id: "scheduled-maintenance:e-3", state: "completed", code: "system-reboot" },
  ]]);
});

Deno.test("monitor dispatches a maintenance event again when it is rescheduled, not when it is seen again", async () => {
  let notBefore = "9 Dec 2026 09:00:00 GMT";
  const imds = fakeImds((path) =>
    path === NOTICE_PATHS.scheduledEvents
      ? {
        status: 200,
        body: JSON.stringify([{
          Code: "system-reboot",
          State: "active",
          EventId: "e-1",
          NotBefore: notBefore,
        }]),
      }
      : NOT_FOUND
  );
  const seen: string[] = [];
  const monitor = createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: () => NOW,
    onNotice: (n) => void seen.push(`${n.id} ${n.noticeTime.toISOString()}`),
  });
  await monitor.pollOnce();
  await monitor.pollOnce();
  notBefore = "11 Dec 2026 09:00:00 GMT";
  await monitor.pollOnce();
  await monitor.pollOnce();
  assert.deepEqual(seen, [
    "scheduled-maintenance:e-1 2026-12-09T09:00:00.000Z",
    "scheduled-maintenance:e-1 2026-12-11T09:00:00.000Z",
  ]);
});

Deno.test("monitor schedules on its own clock: a wall clock stepped back an hour does not stop spot polling", async () => {
  let wall = NOW.getTime();
  let wakeups = 0;
  const controller = new AbortController();
  const calls: number[] = [];
  const imds = fakeImds((path) => {
    if (path === NOTICE_PATHS.instanceAction) calls.push(wakeups);
    return NOT_FOUND;
  });
  await createMonitor(imds, {
    pollIntervalMs: 1000,
    logger: createMemoryLogger(),
    now: () => new Date(wall),
    sleep: async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      // NTP steps the clock back an hour after the third wake-up.
      wall += ++wakeups === 3 ? -3_600_000 : 1000;
      if (wakeups >= 8) controller.abort();
    },
    onNotice: () => {},
  }).run(controller.signal);
  assert.deepEqual(calls, [0, 1, 2, 3, 4, 5, 6, 7]);
});
