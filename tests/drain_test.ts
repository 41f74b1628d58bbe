import assert from "node:assert/strict";
import { createDrainer, type DrainerOptions, selectPods } from "../lib/drain.ts";
import { graceFor } from "../lib/drain_evict.ts";
import type { EvictionOutcome, Kube, PodInfo, PodRef } from "../lib/kube.ts";
import { KubeError } from "../lib/kube_errors.ts";
import { createKube } from "../lib/kube_client.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { DEMO_HANDLER_POD, demoPods, startFakeApiServer } from "../tools/fake_apiserver.ts";

const T0 = Date.parse("2026-11-25T10:00:00Z");

function pod(name: string, extra: Partial<PodInfo> = {}): PodInfo {
  return {
    namespace: "default",
    name,
    uid: `uid-${name}`,
    nodeName: "node-a",
    phase: "Running",
    ownerKinds: ["ReplicaSet"],
    isMirror: false,
    hasEmptyDir: false,
    terminationGracePeriodSeconds: 30,
    ...extra,
  };
}

/** A clock that only moves when someone sleeps. */
function fakeClock() {
  let t = T0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(t),
    at: (ms: number) => new Date(T0 + ms),
    elapsed: () => t - T0,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
      await Promise.resolve();
    },
  };
}

interface EvictCall {
  pod: string;
  grace?: number;
  at: number;
}

type EvictFn = (ref: PodRef, attempt: number) => EvictionOutcome | Promise<EvictionOutcome>;

/**
 * An in-memory Kube. An accepted eviction removes the pod from later lists unless
 * `linger` keeps it for that many list calls, or `replace` swaps in a new UID.
 */
function fakeKube(
  pods: PodInfo[],
  options: {
    evict?: EvictFn;
    linger?: Record<string, number>;
    replace?: string[];
    clock?: { elapsed(): number };
    list?: (call: number) => void;
  } = {},
) {
  const onNode = new Map(pods.map((p) => [`${p.namespace}/${p.name}`, { ...p }]));
  const attempts = new Map<string, number>();
  const linger = new Map(Object.entries(options.linger ?? {}));
  const evictCalls: EvictCall[] = [];
  let listCalls = 0;
  let getCalls = 0;
  const kube: Kube = {
    getNode: () => Promise.reject(new Error("not used")),
    patchNode: () => Promise.reject(new Error("not used")),
    getPod: () => {
      getCalls++;
      return Promise.resolve(null);
    },
    listPodsOnNode: async (node) => {
      await Promise.resolve();
      const call = listCalls++;
      options.list?.(call);
      assert.equal(node, "node-a");
      const out = [...onNode.values()].map((p) => ({ ...p }));
      for (const [key, left] of linger) {
        if (left <= 0 || !attempts.has(key)) continue;
        linger.set(key, left - 1);
        if (left === 1) onNode.delete(key);
      }
      return out;
    },
    evictPod: async (ref, evictOptions) => {
      const key = `${ref.namespace}/${ref.name}`;
      const attempt = attempts.get(key) ?? 0;
      attempts.set(key, attempt + 1);
      evictCalls.push({
        pod: key,
        grace: evictOptions?.gracePeriodSeconds,
        at: options.clock?.elapsed() ?? 0,
      });
      const outcome = options.evict
        ? await options.evict(ref, attempt)
        : { status: "evicted" as const };
      if (outcome.status === "evicted") {
        if (options.replace?.includes(key)) {
          const old = onNode.get(key)!;
          onNode.set(key, { ...old, uid: `${old.uid}-new` });
        } else if (!linger.has(key)) onNode.delete(key);
      }
      return outcome;
    },
    createNodeEvent: () => Promise.reject(new Error("not used")),
    canI: () => Promise.reject(new Error("not used")),
  };
  return {
    kube,
    evictCalls,
    listCalls: () => listCalls,
    getCalls: () => getCalls,
  };
}

function setup(
  extra: Partial<DrainerOptions> = {},
) {
  const clock = fakeClock();
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const options: DrainerOptions = {
    logger,
    metrics,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 1,
    ...extra,
  };
  return { clock, logger, metrics, options };
}

const blocked: EvictionOutcome = {
  status: "blocked",
  code: 429,
  message:
    "evict pod default/web-1: 429 Too Many Requests: Cannot evict pod as it would violate the pod's disruption budget.",
};

Deno.test("selectPods skips the own pod, mirror, DaemonSet and finished pods and evicts the rest", () => {
  const pods = [
    pod("web-1"),
    pod("bare", { ownerKinds: [] }),
    pod("scratch", { hasEmptyDir: true, ownerKinds: ["StatefulSet"] }),
    pod("leaving", { deletionTimestamp: "2026-11-25T09:59:00Z" }),
    pod("sth-abcde", { namespace: "kube-system", ownerKinds: ["DaemonSet"] }),
    pod("kube-proxy-1", { namespace: "kube-system", ownerKinds: ["DaemonSet"] }),
    pod("static-web-node-a", { isMirror: true, ownerKinds: ["Node"] }),
    pod("job-1", { phase: "Succeeded", ownerKinds: ["Job"] }),
    pod("job-2", { phase: "Failed", ownerKinds: ["Job"] }),
  ];
  const { evict, skipped } = selectPods(pods, {
    ownPod: { namespace: "kube-system", name: "sth-abcde" },
  });
  assert.deepEqual(evict.map((p) => p.name), ["web-1", "bare", "scratch", "leaving"]);
  assert.deepEqual(skipped, [
    { pod: "kube-system/sth-abcde", reason: "the handler's own pod" },
    { pod: "kube-system/kube-proxy-1", reason: "DaemonSet pod" },
    { pod: "default/static-web-node-a", reason: "mirror (static) pod" },
    { pod: "default/job-1", reason: "finished (Succeeded)" },
    { pod: "default/job-2", reason: "finished (Failed)" },
  ]);
});

Deno.test("selectPods matches the own pod by namespace and name", () => {
  const { evict } = selectPods([pod("sth-abcde", { ownerKinds: [] })], {
    ownPod: { namespace: "kube-system", name: "sth-abcde" },
  });
  assert.equal(evict.length, 1);
});

Deno.test("graceFor uses the configured, then the pod's own, then 30 seconds", () => {
  const now = new Date(T0);
  const deadline = new Date(T0 + 600_000);
  assert.equal(graceFor(pod("a", { terminationGracePeriodSeconds: 60 }), { now, deadline }), 60);
  assert.equal(
    graceFor(pod("a", { terminationGracePeriodSeconds: 60 }), {
      now,
      deadline,
      gracePeriodSeconds: 10,
    }),
    10,
  );
  assert.equal(
    graceFor(pod("a", { terminationGracePeriodSeconds: undefined }), { now, deadline }),
    30,
  );
});

Deno.test("graceFor caps the grace one second before the deadline and never goes below 1", () => {
  const now = new Date(T0);
  const p = pod("a", { terminationGracePeriodSeconds: 600 });
  assert.equal(graceFor(p, { now, deadline: new Date(T0 + 90_000) }), 89);
  assert.equal(graceFor(p, { now, deadline: new Date(T0 + 20_900) }), 19);
  assert.equal(graceFor(p, { now, deadline: new Date(T0 + 1_500) }), 1);
  assert.equal(graceFor(p, { now, deadline: new Date(T0 - 5_000) }), 1);
  assert.equal(
    graceFor(pod("z", { terminationGracePeriodSeconds: 0 }), {
      now,
      deadline: new Date(T0 + 90_000),
    }),
    1,
  );
});

Deno.test("createDrainer rejects a concurrency below 1 and a non-positive poll interval", () => {
  const { kube } = fakeKube([]);
  const logger = createMemoryLogger();
  assert.throws(() => createDrainer(kube, { logger, concurrency: 0 }), RangeError);
  assert.throws(() => createDrainer(kube, { logger, concurrency: 2.5 }), /concurrency/);
  assert.throws(() => createDrainer(kube, { logger, pollIntervalMs: 0 }), /pollIntervalMs/);
});

Deno.test("drain evicts every selectable pod with a deadline-capped grace and reports them evicted", async () => {
  const { clock, logger, metrics, options } = setup();
  const fake = fakeKube([
    pod("web-1", { terminationGracePeriodSeconds: 300 }),
    pod("web-2", { terminationGracePeriodSeconds: 10 }),
    pod("ds-1", { ownerKinds: ["DaemonSet"] }),
  ], { clock });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted.sort(), ["default/web-1", "default/web-2"]);
  assert.deepEqual(result.remaining, []);
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.skipped, [{ pod: "default/ds-1", reason: "DaemonSet pod" }]);
  assert.deepEqual(
    fake.evictCalls.map((c) => [c.pod, c.grace]).sort(),
    [["default/web-1", 59], ["default/web-2", 10]],
  );
  assert.equal(metrics.get("sth_evictions_total", { outcome: "evicted" }), 2);
  assert.equal(fake.getCalls(), 0);
  const outcomes = logger.lines.filter((l) => / pod (evicted|skipped) /.test(l));
  assert.equal(outcomes.length, 3);
  assert.match(
    logger.lines.at(-1)!,
    /INFO {2}drain finished node=node-a evicted=2 remaining=0 failed=0 skipped=1/,
  );
});

Deno.test("drain passes the configured grace period, capped by the deadline", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("web-1"), pod("web-2", { terminationGracePeriodSeconds: 5 })]);
  await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(50_000),
    gracePeriodSeconds: 120,
  });
  assert.deepEqual(fake.evictCalls.map((c) => c.grace), [49, 49]);
});

Deno.test("drain never has more evictions in flight than its concurrency", async () => {
  for (const [concurrency, expected] of [[5, 5], [undefined, 25]] as const) {
    const { clock, options } = setup({ concurrency });
    let inFlight = 0;
    let most = 0;
    const pods = Array.from({ length: 60 }, (_, i) => pod(`web-${i}`));
    const fake = fakeKube(pods, {
      evict: async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        for (let i = 0; i < 5; i++) await Promise.resolve();
        inFlight--;
        return { status: "evicted" };
      },
    });
    const result = await createDrainer(fake.kube, options).drain("node-a", {
      deadline: clock.at(60_000),
    });
    assert.equal(result.evicted.length, 60);
    assert.equal(most, expected, `concurrency ${concurrency}`);
  }
});

Deno.test("drain retries an eviction on 429 until the deadline and then reports it remaining", async () => {
  const { clock, logger, metrics, options } = setup();
  const fake = fakeKube([pod("web-1")], { clock, evict: () => blocked });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(20_000),
  });
  assert.deepEqual(result.remaining, [
    { pod: "default/web-1", reason: "blocked by PodDisruptionBudget until deadline" },
  ]);
  assert.deepEqual(result.evicted, []);
  // 0.5 s doubling, capped at 5 s (random() = 1 gives the full delay), the last cut at the deadline.
  assert.deepEqual(clock.sleeps.slice(0, 6), [500, 1000, 2000, 4000, 5000, 5000]);
  assert.equal(clock.elapsed(), 20_000);
  assert.ok(fake.evictCalls.every((c) => c.at < 20_000));
  assert.equal(fake.evictCalls.length, clock.sleeps.length);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "blocked" }), 1);
  assert.ok(logger.lines.some((l) => /WARN {2}pod still on node pod=default\/web-1/.test(l)));
});

Deno.test("drain spreads 429 retries with jitter between half and all of the backoff", async () => {
  const { clock, options } = setup({ random: () => 0 });
  const fake = fakeKube([pod("web-1")], { evict: () => blocked });
  await createDrainer(fake.kube, options).drain("node-a", { deadline: clock.at(10_000) });
  assert.deepEqual(clock.sleeps.slice(0, 5), [250, 500, 1000, 2000, 2500]);
});

Deno.test("drain evicts a PodDisruptionBudget-guarded pod once the budget allows it", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    evict: (_, attempt) => attempt < 2 ? blocked : { status: "evicted" },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/web-1"]);
  assert.equal(fake.evictCalls.length, 3);
});

Deno.test("drain logs each accepted eviction at once and a refusal once, not on every retry", async () => {
  const { clock, logger, options } = setup();
  const fake = fakeKube([pod("web-1"), pod("web-2")], {
    clock,
    evict: (ref, attempt) => ref.name === "web-1" && attempt < 3 ? blocked : { status: "evicted" },
  });
  await createDrainer(fake.kube, options).drain("node-a", { deadline: clock.at(60_000) });
  const lines = logger.lines;
  const accepted = (name: string) =>
    lines.findIndex((l) => l.includes(`INFO  eviction accepted pod=default/${name}`));
  // web-2 is reported accepted before web-1's retries end, so progress shows while a budget holds.
  assert.ok(accepted("web-2") >= 0 && accepted("web-2") < accepted("web-1"), lines.join("\n"));
  const refusals = lines.filter((l) => /eviction refused/.test(l));
  assert.equal(refusals.length, 3);
  assert.match(
    refusals[0],
    /WARN {2}eviction refused, will retry until the deadline pod=default\/web-1 code=429 error=/,
  );
  assert.ok(
    refusals.slice(1).every((l) => / DEBUG eviction refused, will retry /.test(l)),
    refusals.join("\n"),
  );
});

Deno.test("drain calls a 429 without a disruption budget cause throttling", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    evict: () => ({ status: "blocked", code: 429, message: "429 Too Many Requests: try later" }),
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(3_000),
  });
  assert.deepEqual(result.remaining, [
    { pod: "default/web-1", reason: "eviction throttled (429) until deadline" },
  ]);
});

Deno.test("drain retries a 5xx eviction and succeeds", async () => {
  const { clock, metrics, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    evict: (_, attempt) =>
      attempt < 2
        ? { status: "retryable", code: 503, message: "503 Service Unavailable" }
        : { status: "evicted" },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/web-1"]);
  assert.equal(fake.evictCalls.length, 3);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "evicted" }), 1);
});

Deno.test("drain reports a pod remaining when its eviction keeps failing until the deadline", async () => {
  const { clock, metrics, options } = setup();
  const fake = fakeKube([pod("web-1"), pod("web-2")], {
    evict: (ref) =>
      ref.name === "web-1"
        ? { status: "retryable", code: 500, message: "500 Internal Server Error" }
        : { status: "retryable", code: 0, message: "fetch failed (connection refused)" },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(5_000),
  });
  assert.deepEqual(result.remaining.sort((a, b) => a.pod.localeCompare(b.pod)), [
    { pod: "default/web-1", reason: "eviction failed with HTTP 500 until deadline" },
    { pod: "default/web-2", reason: "API server unreachable until deadline" },
  ]);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "timeout" }), 2);
});

Deno.test("drain treats an exception from evictPod as retryable", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    evict: (_, attempt) => {
      if (attempt === 0) throw new TypeError("socket hang up");
      return { status: "evicted" };
    },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/web-1"]);
});

Deno.test("drain counts a 404 on eviction as success", async () => {
  const { clock, metrics, options } = setup();
  const fake = fakeKube([pod("web-1")], { evict: () => ({ status: "gone" }) });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/web-1"]);
  assert.equal(fake.evictCalls.length, 1);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "gone" }), 1);
});

Deno.test("drain reports a 403 eviction as failed without retrying", async () => {
  const { clock, logger, metrics, options } = setup();
  const fake = fakeKube([pod("web-1"), pod("web-2")], {
    evict: (ref) =>
      ref.name === "web-1"
        ? {
          status: "failed",
          code: 403,
          message:
            'evict pod default/web-1: 403 Forbidden: pods "web-1" is forbidden: cannot create pods/eviction',
        }
        : { status: "evicted" },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.failed, [{
    pod: "default/web-1",
    reason: '403 Forbidden: pods "web-1" is forbidden: cannot create pods/eviction',
  }]);
  assert.deepEqual(result.evicted, ["default/web-2"]);
  assert.equal(fake.evictCalls.filter((c) => c.pod === "default/web-1").length, 1);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "failed" }), 1);
  assert.match(logger.lines.at(-1)!, /WARN {2}drain finished with pods left .*failed=1/);
});

Deno.test("drain waits until evicted pods are gone, with one list call per round", async () => {
  const { clock, options } = setup({ pollIntervalMs: 1_000 });
  const pods = Array.from({ length: 20 }, (_, i) => pod(`web-${i}`));
  const fake = fakeKube(pods, { linger: { "default/web-7": 3 } });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.equal(result.evicted.length, 20);
  assert.equal(result.evicted.at(-1), "default/web-7");
  // One list to find the pods, then rounds while web-7 lingers in three lists.
  assert.equal(fake.listCalls(), 1 + 4);
  assert.deepEqual(clock.sleeps, [1_000, 1_000, 1_000]);
  assert.equal(fake.getCalls(), 0);
});

Deno.test("drain counts a pod replaced under the same name (new UID) as evicted", async () => {
  const { clock, logger, options } = setup();
  const fake = fakeKube([pod("cache-0", { ownerKinds: ["StatefulSet"] })], {
    replace: ["default/cache-0"],
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/cache-0"]);
  assert.equal(fake.listCalls(), 2);
  assert.ok(logger.lines.some((l) => /pod evicted pod=default\/cache-0 note=replaced/.test(l)));
});

Deno.test("drain reports pods still terminating at the deadline", async () => {
  const { clock, metrics, options } = setup({ pollIntervalMs: 2_000 });
  const fake = fakeKube([pod("web-1"), pod("web-2")], { linger: { "default/web-1": 1_000 } });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(7_000),
  });
  assert.deepEqual(result.evicted, ["default/web-2"]);
  assert.deepEqual(result.remaining, [
    { pod: "default/web-1", reason: "still terminating at deadline" },
  ]);
  assert.deepEqual(clock.sleeps, [2_000, 2_000, 2_000, 1_000]);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "timeout" }), 1);
});

Deno.test("drain stops waiting when its signal aborts", async () => {
  const controller = new AbortController();
  const sleeping = Promise.withResolvers<void>();
  const { clock, options } = setup({
    // Never wakes on time: only the abort can end this wait.
    sleep: (_ms, signal) => {
      sleeping.resolve();
      return new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve()));
    },
  });
  const fake = fakeKube([pod("web-1")], { linger: { "default/web-1": 1_000 } });
  const drained = createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
    signal: controller.signal,
  });
  await sleeping.promise;
  controller.abort();
  const result = await drained;
  assert.deepEqual(result.remaining, [
    { pod: "default/web-1", reason: "drain aborted while terminating" },
  ]);
  assert.equal(fake.listCalls(), 2);
});

Deno.test("drain stops retrying a blocked eviction when its signal aborts", async () => {
  const controller = new AbortController();
  const { clock, metrics, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    evict: (_, attempt) => {
      if (attempt === 2) controller.abort();
      return blocked;
    },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
    signal: controller.signal,
  });
  assert.deepEqual(result.remaining, [{ pod: "default/web-1", reason: "drain aborted" }]);
  assert.equal(fake.evictCalls.length, 3);
  assert.equal(metrics.get("sth_evictions_total", { outcome: "aborted" }), 1);
});

Deno.test("drain makes one eviction attempt even when the deadline has already passed", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("web-1"), pod("web-2")], {
    evict: (ref) => ref.name === "web-1" ? blocked : { status: "evicted" },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(-1_000),
  });
  assert.deepEqual(result.evicted, ["default/web-2"]);
  assert.equal(result.remaining.length, 1);
  assert.deepEqual(fake.evictCalls.map((c) => c.grace), [1, 1]);
  assert.deepEqual(clock.sleeps, []);
});

Deno.test("drain retries listing the node's pods after a server error", async () => {
  const { clock, logger, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    list: (call) => {
      if (call === 0) {
        throw new KubeError("list pods on node node-a: 503 Service Unavailable", { status: 503 });
      }
    },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/web-1"]);
  assert.ok(logger.lines.some((l) => /cannot list pods on node, will retry/.test(l)));
});

Deno.test("drain throws when the node's pods cannot be listed for good", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    list: () => {
      throw new KubeError("list pods on node node-a: 403 Forbidden", { status: 403 });
    },
  });
  await assert.rejects(
    createDrainer(fake.kube, options).drain("node-a", { deadline: clock.at(60_000) }),
    (error: Error) => error instanceof KubeError && /node-a: 403/.test(error.message),
  );
  assert.equal(fake.listCalls(), 1);
  assert.equal(fake.evictCalls.length, 0);
});

Deno.test("drain keeps waiting when one check of the pods fails", async () => {
  const { clock, logger, options } = setup();
  const fake = fakeKube([pod("web-1")], {
    list: (call) => {
      if (call === 1) throw new KubeError("list pods on node node-a: 500", { status: 500 });
    },
  });
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result.evicted, ["default/web-1"]);
  assert.equal(fake.listCalls(), 3);
  assert.ok(logger.lines.some((l) => /WARN {2}cannot check which evicted pods are gone/.test(l)));
});

Deno.test("drain of a node without pods to evict returns at once", async () => {
  const { clock, options } = setup();
  const fake = fakeKube([pod("ds", { ownerKinds: ["DaemonSet"] })]);
  const result = await createDrainer(fake.kube, options).drain("node-a", {
    deadline: clock.at(60_000),
  });
  assert.deepEqual(result, {
    evicted: [],
    remaining: [],
    failed: [],
    skipped: [{ pod: "default/ds", reason: "DaemonSet pod" }],
  });
  assert.equal(fake.listCalls(), 1);
});

Deno.test("drain's default sleep is cut short by the abort signal", async () => {
  const controller = new AbortController();
  const fake = fakeKube([pod("web-1")], {
    linger: { "default/web-1": 1_000 },
    list: (call) => {
      if (call === 1) setTimeout(() => controller.abort(), 0);
    },
  });
  // A one-hour poll interval: only the abort can end the wait before the test times out.
  const drainer = createDrainer(fake.kube, {
    logger: createMemoryLogger(),
    pollIntervalMs: 3_600_000,
  });
  const result = await drainer.drain("node-a", {
    deadline: new Date(Date.now() + 7_200_000),
    signal: controller.signal,
  });
  assert.deepEqual(result.remaining, [
    { pod: "default/web-1", reason: "drain aborted while terminating" },
  ]);
});

Deno.test("drain with the real adapter empties the demo node of the Kubernetes stand-in", async () => {
  const node = "ip-10-0-1-23.ec2.internal";
  const api = startFakeApiServer({ pods: demoPods(node) });
  const dir = await Deno.makeTempDir();
  try {
    await api.writeKubeconfig(`${dir}/kubeconfig`);
    const logger = createMemoryLogger();
    const kube = await createKube({ kubeconfigPath: `${dir}/kubeconfig`, logger });
    // Real clock, but retries need not really wait: the stand-in allows the third eviction.
    const drainer = createDrainer(kube, { logger, sleep: () => Promise.resolve() });
    const result = await drainer.drain(node, {
      deadline: new Date(Date.now() + 60_000),
      ownPod: DEMO_HANDLER_POD,
    });
    assert.deepEqual(result.evicted.sort(), [
      "default/cache-0",
      "default/payments-6c9d8f5b7-r2d2x",
      "default/web-5d8f7b9c4d-k2x9p",
      "default/web-5d8f7b9c4d-m4q7z",
      "default/web-5d8f7b9c4d-t8w3n",
    ]);
    assert.deepEqual(result.skipped.map((s) => s.reason).sort(), [
      "DaemonSet pod",
      "finished (Succeeded)",
      "mirror (static) pod",
      "the handler's own pod",
    ]);
    assert.deepEqual([result.remaining, result.failed], [[], []]);
    const evictionPosts = api.requests.filter((r) => r.subresource === "eviction");
    assert.equal(evictionPosts.length, 5 + 2);
    assert.equal(api.requests.filter((r) => r.verb === "list").length, 2);
    assert.ok(api.evictions().every((e) => e.gracePeriodSeconds === 30));
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
});
