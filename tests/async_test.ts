import assert from "node:assert/strict";
import {
  cached,
  pause,
  raceAbort,
  retryUntil,
  sleep,
  timeoutSignal,
  withTimeout,
} from "../lib/_async.ts";

/** Fails the test instead of hanging it when `promise` never settles. */
async function withBound<T>(promise: Promise<T>, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), 10_000);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const never = () => new Promise<never>(() => {});

Deno.test("sleep resolves at once when the signal aborts or already has", async () => {
  const controller = new AbortController();
  const sleeping = sleep(3_600_000, controller.signal);
  controller.abort();
  await withBound(sleeping, "sleep ignored the abort");
  await withBound(sleep(3_600_000, AbortSignal.abort()), "sleep ignored the abort");
});

Deno.test("pause ends on abort whatever the injected sleep does", async () => {
  const ignoring = new AbortController();
  const waiting = pause(never, 1_000, ignoring.signal);
  ignoring.abort();
  await withBound(waiting, "a sleep that ignores the signal held the pause");

  const rejecting = new AbortController();
  const rejectOnAbort = (_ms: number, signal?: AbortSignal) =>
    new Promise<void>((_, reject) =>
      signal?.addEventListener("abort", () => reject(new Error("x")))
    );
  const second = pause(rejectOnAbort, 1_000, rejecting.signal);
  rejecting.abort();
  assert.equal(await withBound(second, "rejection on abort held the pause"), undefined);

  // A rejection that is not an abort is not swallowed.
  await assert.rejects(
    pause(() => Promise.reject(new Error("broken")), 1, new AbortController().signal),
    /broken/,
  );
  const seen: number[] = [];
  await pause((ms) => (seen.push(ms), Promise.resolve()), 7);
  assert.deepEqual(seen, [7]);
});

Deno.test("timeoutSignal tells its own timeout from the caller's abort", async () => {
  const timed = timeoutSignal(0);
  await withBound(
    new Promise((resolve) => timed.signal.addEventListener("abort", resolve)),
    "the timeout never fired",
  );
  assert.equal(timed.timedOut(), true);
  timed.clear();

  const caller = new AbortController();
  const cut = timeoutSignal(3_600_000, caller.signal);
  assert.equal(cut.signal.aborted, false);
  caller.abort();
  assert.equal(cut.signal.aborted, true);
  assert.equal(cut.timedOut(), false);
  cut.clear();

  const early = timeoutSignal(3_600_000, AbortSignal.abort());
  assert.equal(early.signal.aborted, true);
  early.clear();
});

Deno.test("timeoutSignal.clear stops listening to the caller's signal", () => {
  const caller = new AbortController();
  const cut = timeoutSignal(3_600_000, caller.signal);
  cut.clear();
  caller.abort();
  assert.equal(cut.signal.aborted, false, "a cleared signal still followed the caller");
});

Deno.test("raceAbort settles like the promise, or rejects with why() on abort", async () => {
  const controller = new AbortController();
  assert.equal(await raceAbort(Promise.resolve(1), controller.signal, () => "no"), 1);
  await assert.rejects(
    raceAbort(Promise.reject(new Error("own")), controller.signal, () => "no"),
    /own/,
  );
  const waiting = raceAbort(never(), controller.signal, () => new Error("cut"));
  controller.abort();
  await assert.rejects(withBound(waiting, "abort ignored"), /cut/);
  await assert.rejects(raceAbort(never(), AbortSignal.abort(), () => new Error("early")), /early/);
});

Deno.test("withTimeout rejects with a TimeoutError naming the wait", async () => {
  assert.equal(await withTimeout(Promise.resolve("ok"), 3_600_000), "ok");
  const error = await withBound(withTimeout(never(), 0).catch((e) => e), "no timeout");
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, "TimeoutError");
  assert.match(error.message, /no answer within 0 ms/);
});

Deno.test("cached shares one promise and forgets it once it rejects", async () => {
  let made = 0;
  let fail = true;
  const get = cached(() => {
    made++;
    return fail ? Promise.reject(new Error(`try ${made}`)) : Promise.resolve(made);
  });
  const [a, b] = [get(), get()];
  assert.equal(a, b, "two callers got two promises");
  await assert.rejects(a, /try 1/);
  fail = false;
  assert.equal(await get(), 2, "the failure was cached");
  assert.equal(await get(), 2, "the success was not cached");
  assert.equal(made, 2);
});

Deno.test("retryUntil: delayMs sets the waits; onError says whether it retries", async () => {
  let t = 0;
  const sleeps: number[] = [];
  const calls: Array<[number, boolean]> = [];
  await assert.rejects(
    retryUntil(() => Promise.reject(new Error("busy")), {
      deadline: new Date(1_000),
      now: () => new Date(t),
      sleep: (ms) => (sleeps.push(ms), t += ms, Promise.resolve()),
      delayMs: (attempt) => attempt * 300,
      onError: (_e, attempt, willRetry) => calls.push([attempt, willRetry]),
    }),
    /busy/,
  );
  assert.deepEqual(sleeps, [300, 600, 100], "waits follow delayMs, cut at the deadline");
  assert.deepEqual(calls, [[1, true], [2, true], [3, true], [4, false]]);
});

Deno.test("retryUntil stops at the first error the predicate calls permanent", async () => {
  const calls: boolean[] = [];
  let attempts = 0;
  await assert.rejects(
    retryUntil(() => Promise.reject(new Error(++attempts < 2 ? "503" : "403")), {
      deadline: new Date(Date.now() + 60_000),
      sleep: () => Promise.resolve(),
      retryable: (e) => (e as Error).message !== "403",
      onError: (_e, _a, willRetry) => calls.push(willRetry),
    }),
    /403/,
  );
  assert.deepEqual(calls, [true, false]);
});

Deno.test("retryUntil returns when the signal aborts during a wait that ignores it", async () => {
  const controller = new AbortController();
  let attempts = 0;
  const running = retryUntil(() => {
    attempts++;
    return Promise.reject(new Error("down"));
  }, {
    deadline: new Date(Date.now() + 3_600_000),
    sleep: () => {
      controller.abort();
      return never();
    },
    signal: controller.signal,
  });
  await assert.rejects(withBound(running, "retry waited past the abort"), /down/);
  assert.equal(attempts, 2);
});
