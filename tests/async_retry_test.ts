import assert from "node:assert/strict";
import { retryUntil, sleep as realSleep } from "../lib/_async.ts";

function fakeClock(start = 0) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => new Date(t),
    sleep: (ms: number) => {
      sleeps.push(ms);
      t += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

Deno.test("retryUntil returns the first success", async () => {
  const clock = fakeClock();
  let calls = 0;
  const v = await retryUntil(() => {
    calls++;
    return calls < 3 ? Promise.reject(new Error("boom")) : Promise.resolve("ok");
  }, { deadline: new Date(10_000), ...clock });
  assert.equal(v, "ok");
  assert.equal(calls, 3);
  assert.deepEqual(clock.sleeps, [250, 500]);
});

Deno.test("retryUntil backs off up to the cap and stops at the deadline with the last error", async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    retryUntil(() => Promise.reject(new Error(`fail ${++calls}`)), {
      deadline: new Date(10_000),
      maxDelayMs: 2000,
      ...clock,
    }),
    /fail \d+/,
  );
  assert.deepEqual(clock.sleeps.slice(0, 5), [250, 500, 1000, 2000, 2000]);
  assert.equal(clock.sleeps.reduce((a, b) => a + b), 10_000, "never sleeps past the deadline");
});

Deno.test("retryUntil does not retry errors marked final", async () => {
  const clock = fakeClock();
  let calls = 0;
  await assert.rejects(
    retryUntil(() => {
      calls++;
      return Promise.reject(new Error("403"));
    }, { deadline: new Date(10_000), retryable: () => false, ...clock }),
  );
  assert.equal(calls, 1);
});

Deno.test("retryUntil reports each failed attempt", async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  await retryUntil(() => seen.length < 2 ? Promise.reject(new Error("x")) : Promise.resolve(1), {
    deadline: new Date(10_000),
    onError: (_e, attempt) => seen.push(attempt),
    ...clock,
  });
  assert.deepEqual(seen, [1, 2]);
});

Deno.test("realSleep resolves early when its signal aborts", async () => {
  const controller = new AbortController();
  const p = realSleep(60_000, controller.signal);
  controller.abort();
  await p;
  await realSleep(10_000, controller.signal);
});
