/**
 * What the benchmarks measure, from raw observations to samples: the API request log and log lines
 * (bench/timeline.ts), detection and drain runs, the benchmark's pods, the real-peer samples and
 * the soak's statistics.
 */
import assert from "node:assert/strict";
import { type ApiTimeline, apiTimeline, logTime, span } from "../bench/timeline.ts";
import { detectionSample, noticeDelay } from "../bench/detection.ts";
import { drainCases, kubectlDrainSample, ourDrainSample } from "../bench/drain.ts";
import { HANDLER_POD, mixedPods } from "../bench/pods.ts";
import type { HandlerRun } from "../bench/handler_run.ts";
import type { KubectlRun } from "../bench/kubectl_run.ts";
import { peerSample, peerVersions } from "../bench/peers.ts";
import { leastSquaresSlope, type SoakSample, soakStats } from "../bench/soak.ts";
import type { ApiRequestRecord } from "../tools/fake_apiserver.ts";
import { MIB } from "./fixtures/bench/results.ts";

// --- bench/timeline.ts ---

function record(at: number, fields: Partial<ApiRequestRecord>): ApiRequestRecord {
  return {
    method: "GET",
    path: "/",
    verb: "get",
    group: "",
    resource: "",
    status: 200,
    at,
    ...fields,
  };
}

function eviction(at: number, namespace: string, name: string, status: number) {
  return record(at, {
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/pods/${name}/eviction`,
    verb: "create",
    resource: "pods",
    subresource: "eviction",
    namespace,
    name,
    status,
  });
}

function nodePatch(at: number, body: string) {
  return record(at, {
    method: "PATCH",
    path: "/api/v1/nodes/node-a",
    verb: "patch",
    resource: "nodes",
    name: "node-a",
    body,
  });
}

const REQUESTS: ApiRequestRecord[] = [
  record(1_000, { path: "/api", nonResource: true }),
  nodePatch(1_005, JSON.stringify({ metadata: { annotations: { a: "b" } } })),
  nodePatch(1_010, JSON.stringify({ spec: { unschedulable: true } })),
  record(1_012, { path: "/api/v1/pods", verb: "list", resource: "pods" }),
  eviction(1_020, "default", "web-1", 429),
  eviction(1_025, "default", "web-2", 201),
  eviction(1_030, "other", "web-1", 201),
  eviction(1_100, "default", "web-1", 201),
  nodePatch(1_150, JSON.stringify({ spec: { unschedulable: true } })),
  record(1_200, { path: "/api/v1/pods", verb: "list", resource: "pods" }),
];

Deno.test("apiTimeline finds cordon, first eviction, every pod's first request and the last accepted eviction", () => {
  assert.deepEqual(apiTimeline(REQUESTS, { latencyMs: 5 }), {
    cordon: 1_005,
    firstEviction: 1_015,
    allIssued: 1_025,
    lastAccepted: 1_095,
    evictionRequests: 4,
    accepted: 3,
    requests: 10,
  });
});

Deno.test("apiTimeline without latency reports the instants as stamped", () => {
  const t = apiTimeline(REQUESTS);
  assert.equal(t.cordon, 1_010);
  assert.equal(t.firstEviction, 1_020);
  assert.equal(t.allIssued, 1_030);
  assert.equal(t.lastAccepted, 1_100);
});

Deno.test("apiTimeline counts only the records answered at or after since", () => {
  assert.deepEqual(apiTimeline(REQUESTS, { since: 1_025 }), {
    cordon: 1_150,
    firstEviction: 1_025,
    allIssued: 1_100,
    lastAccepted: 1_100,
    evictionRequests: 3,
    accepted: 3,
    requests: 5,
  });
});

Deno.test("apiTimeline of a log without evictions has counts only", () => {
  const expected: ApiTimeline = { evictionRequests: 0, accepted: 0, requests: 0 };
  assert.deepEqual(apiTimeline([]), expected);
  assert.deepEqual(apiTimeline(REQUESTS.slice(0, 2)), { ...expected, requests: 2 });
});

Deno.test("apiTimeline ignores node patches that do not cordon or have no parseable body", () => {
  const t = apiTimeline([
    nodePatch(10, "not json"),
    nodePatch(20, JSON.stringify({ spec: { unschedulable: false } })),
    record(30, { verb: "patch", resource: "pods", body: '{"spec":{"unschedulable":true}}' }),
  ]);
  assert.deepEqual(t, { evictionRequests: 0, accepted: 0, requests: 3 });
});

Deno.test("apiTimeline leaves lastAccepted unset when every eviction was refused", () => {
  const t = apiTimeline([eviction(10, "default", "a", 429), eviction(20, "default", "a", 429)]);
  assert.deepEqual(t, {
    firstEviction: 10,
    allIssued: 10,
    evictionRequests: 2,
    accepted: 0,
    requests: 2,
  });
});

const LINES = [
  "Download https://registry.npmjs.org/yaml",
  "2026-11-25T10:00:00.000Z INFO  handler started node=node-a",
  "2026-11-25T10:00:01.250Z INFO  notice received kind=rebalance-recommendation",
  "2026-11-25T10:00:02.500Z INFO  notice received kind=spot-interruption action=terminate",
  "2026-11-25T10:00:03Z WARN  eviction blocked pod=default/web-1",
  "2026-11-25T10:00:04.000Z INFO  notice received kind=spot-interruption action=terminate",
];

Deno.test("logTime gives the time of the first log line whose message matches", () => {
  assert.equal(
    logTime(LINES, /^notice received .*kind=spot-interruption/),
    Date.parse("2026-11-25T10:00:02.500Z"),
  );
  assert.equal(logTime(LINES, /^notice received /), Date.parse("2026-11-25T10:00:01.250Z"));
  assert.equal(logTime(LINES, /^eviction blocked/), Date.parse("2026-11-25T10:00:03.000Z"));
});

Deno.test("logTime matches the pattern against the message, not the time or level", () => {
  assert.equal(logTime(LINES, /^INFO/), undefined);
  assert.equal(logTime(LINES, /^Download/), undefined);
});

Deno.test("logTime gives undefined when no line matches", () => {
  assert.equal(logTime(LINES, /^drain finished/), undefined);
  assert.equal(logTime([], /./), undefined);
});

Deno.test("span subtracts the earlier instant from the later one", () => {
  assert.equal(span(1_000, 1_250), 250);
  assert.equal(span(1_250, 1_000), -250);
  assert.equal(span(0, 0), 0);
});

Deno.test("span gives undefined when either instant is missing", () => {
  assert.equal(span(1_000, undefined), undefined);
  assert.equal(span(undefined, 1_000), undefined);
  assert.equal(span(undefined, undefined), undefined);
});

// --- bench/detection.ts ---

Deno.test("noticeDelay spreads the runs evenly over one poll interval after 200 ms", () => {
  assert.equal(noticeDelay(0, 4), 325);
  assert.equal(noticeDelay(3, 4), 1_075);
  assert.equal(noticeDelay(0, 1), 700);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => noticeDelay(i, 5)), [300, 500, 700, 900, 1_100]);
});

function handlerRun(
  times: Partial<HandlerRun["times"]> = {},
  api: Partial<ApiTimeline> = {},
): HandlerRun {
  return {
    times: { served: 10_000, seen: 10_400, logged: 10_410, handled: 10_900, ...times },
    api: {
      cordon: 10_450,
      firstEviction: 10_470,
      allIssued: 10_600,
      lastAccepted: 10_800,
      evictionRequests: 30,
      accepted: 24,
      requests: 40,
      ...api,
    },
    memory: { rss: 50 * MIB, hwm: 60 * MIB, rssAnon: 15 * MIB, rssFile: 35 * MIB },
  };
}

Deno.test("detectionSample reduces a handler run to durations from the served notice", () => {
  assert.deepEqual(detectionSample(handlerRun()), {
    servedToSeen: 400,
    seenToCordon: 50,
    servedToCordon: 450,
    servedToFirstEviction: 470,
    loggedToCordon: 40,
  });
});

Deno.test("detectionSample throws when no cordon reached the API", () => {
  assert.throws(() => detectionSample(handlerRun({}, { cordon: undefined })), {
    message: "detection run: no cordon PATCH reached the API",
  });
});

Deno.test("detectionSample throws when no eviction reached the API", () => {
  assert.throws(() => detectionSample(handlerRun({}, { firstEviction: undefined })), {
    message: "detection run: no eviction reached the API",
  });
});

// --- bench/drain.ts ---

Deno.test("drainCases gives every latency × size case by default, latency first, samples empty", () => {
  const cases = drainCases();
  assert.deepEqual(
    cases.map((c) => [c.latencyMs, c.pods, c.evictable, c.guarded]),
    [
      [5, 30, 24, 2],
      [5, 110, 104, 6],
      [5, 250, 244, 13],
      [50, 30, 24, 2],
      [50, 110, 104, 6],
      [50, 250, 244, 13],
    ],
  );
  for (const c of cases) {
    assert.deepEqual(c.ours, []);
    assert.deepEqual(c.kubectl, []);
  }
});

Deno.test("drainCases takes the sizes and latencies given, each case with its own sample arrays", () => {
  const cases = drainCases([30], [5, 50]);
  assert.deepEqual(cases, [
    { pods: 30, latencyMs: 5, evictable: 24, guarded: 2, ours: [], kubectl: [] },
    { pods: 30, latencyMs: 50, evictable: 24, guarded: 2, ours: [], kubectl: [] },
  ]);
  assert.notEqual(cases[0].ours, cases[1].ours);
  assert.notEqual(cases[0].kubectl, cases[1].kubectl);
});

Deno.test("ourDrainSample reduces a handler run to durations from the notice received line", () => {
  const run = handlerRun(
    { served: 19_300, logged: 20_000, drainDone: 21_200 },
    {
      allIssued: 20_350,
      lastAccepted: 20_900,
      accepted: 104,
      requests: 130,
      evictionRequests: 118,
    },
  );
  assert.deepEqual(ourDrainSample(run, 104), {
    allIssued: 350,
    lastAccepted: 900,
    done: 1_200,
    servedToLogged: 700,
    requests: 130,
    evictionRequests: 118,
    peakRss: 60 * MIB,
  });
});

Deno.test("ourDrainSample throws when not every pod was evicted", () => {
  const run = handlerRun({ drainDone: 12_000 }, { accepted: 103 });
  assert.throws(() => ourDrainSample(run, 104), {
    message: "drain run: 103 of 104 evictions accepted",
  });
});

Deno.test("ourDrainSample throws when the drain finished line is missing", () => {
  const run = handlerRun({ drainDone: undefined }, { accepted: 24 });
  assert.throws(() => ourDrainSample(run, 24), {
    message: "drain run: drain finished log line missing",
  });
});

Deno.test("ourDrainSample throws when no eviction was accepted at the API", () => {
  const run = handlerRun({ drainDone: 12_000 }, { accepted: 24, lastAccepted: undefined });
  assert.throws(() => ourDrainSample(run, 24), {
    message: "drain run: last eviction accepted missing",
  });
});

function kubectlRun(fields: Partial<KubectlRun> = {}, api: Partial<ApiTimeline> = {}): KubectlRun {
  return {
    started: 1_000,
    exited: 25_000,
    code: 0,
    stderrTail: "",
    api: {
      cordon: 1_300,
      firstEviction: 1_500,
      allIssued: 12_000,
      lastAccepted: 13_000,
      evictionRequests: 110,
      accepted: 104,
      requests: 250,
      ...api,
    },
    ...fields,
  };
}

Deno.test("kubectlDrainSample reduces a kubectl run to durations from its start", () => {
  assert.deepEqual(kubectlDrainSample(kubectlRun(), 104), {
    allIssued: 11_000,
    lastAccepted: 12_000,
    exit: 24_000,
    requests: 250,
    evictionRequests: 110,
  });
});

Deno.test("kubectlDrainSample throws with kubectl's stderr when it failed", () => {
  const run = kubectlRun({ code: 1, stderrTail: "error: unable to drain node" });
  assert.throws(() => kubectlDrainSample(run, 104), {
    message: "kubectl drain exited 1:\nerror: unable to drain node",
  });
});

Deno.test("kubectlDrainSample throws when kubectl left pods", () => {
  assert.throws(() => kubectlDrainSample(kubectlRun({}, { accepted: 50 }), 104), {
    message: "kubectl drain: 50 of 104 evictions accepted",
  });
});

Deno.test("kubectlDrainSample throws when no eviction was issued", () => {
  const run = kubectlRun({}, { accepted: 0, allIssued: undefined, lastAccepted: undefined });
  assert.throws(() => kubectlDrainSample(run, 0), {
    message: "drain run: every eviction issued missing",
  });
});

// --- bench/pods.ts ---

Deno.test("mixedPods counts add up: evictable plus DaemonSet pods are all the pods", () => {
  for (const total of [8, 30, 110, 250]) {
    const load = mixedPods("node-a", total);
    assert.equal(load.pods.length, total);
    assert.equal(load.daemonSet, 6);
    assert.equal(load.evictable, total - 6);
    assert.equal(load.evictable + load.daemonSet, load.pods.length);
    assert.equal(load.pods.filter((p) => p.ownerKind === "DaemonSet").length, load.daemonSet);
    assert.equal(load.pods.filter((p) => p.ownerKind === "ReplicaSet").length, load.evictable);
    assert.equal(load.pods.filter((p) => p.pdbBlocks !== undefined).length, load.guarded);
  }
});

Deno.test("mixedPods guards max(2, round(total / 20)) pods, as documented", () => {
  const guarded = (total: number) => mixedPods("node-a", total).guarded;
  assert.equal(guarded(8), 2);
  assert.equal(guarded(30), 2);
  assert.equal(guarded(50), 3);
  assert.equal(guarded(110), 6);
  assert.equal(guarded(250), 13);
  assert.equal(guarded(1_000), 50);
});

Deno.test("mixedPods places 110 pods with the documented mix on the node", () => {
  const load = mixedPods("node-a", 110);
  assert.equal(load.evictable, 104);
  assert.equal(load.guarded, 6);
  assert.ok(load.pods.every((p) => p.nodeName === "node-a"));
  assert.equal(new Set(load.pods.map((p) => `${p.namespace}/${p.name}`)).size, 110);
  assert.deepEqual(
    load.pods.filter((p) => p.pdbBlocks !== undefined).map((p) => p.pdbBlocks),
    [2, 3, 2, 3, 2, 3],
  );
  // Every tenth ReplicaSet pod not behind a budget (indices 10, 20, …, 100) has an emptyDir.
  assert.equal(load.pods.filter((p) => p.emptyDir).length, 10);
  assert.ok(load.pods.every((p) => !(p.emptyDir && p.pdbBlocks !== undefined)));
  const own = load.pods.filter((p) =>
    p.namespace === HANDLER_POD.namespace && p.name === HANDLER_POD.name
  );
  assert.deepEqual(own, [{
    namespace: "kube-system",
    name: "spot-termination-handler-xxxxx",
    ownerKind: "DaemonSet",
    ownerName: "spot-termination-handler",
    nodeName: "node-a",
  }]);
  assert.deepEqual(
    load.pods.filter((p) => p.ownerKind === "DaemonSet").map((p) => p.ownerName),
    [
      "kube-proxy",
      "aws-node",
      "ebs-csi-node",
      "node-exporter",
      "fluent-bit",
      "spot-termination-handler",
    ],
  );
});

Deno.test("mixedPods rejects a total too small or not an integer with a RangeError", () => {
  assert.throws(() => mixedPods("node-a", 7), {
    name: "RangeError",
    message: "mixedPods: total must be an integer of at least 8, got 7",
  });
  assert.throws(() => mixedPods("node-a", 30.5), { name: "RangeError" });
  assert.throws(() => mixedPods("node-a", NaN), { name: "RangeError" });
});

// --- bench/peers.ts ---

Deno.test("peerSample measures cordon, drain and exit from the start, leaving out what never came", () => {
  assert.deepEqual(peerSample({ start: 1_000, cordoned: 1_800, drained: 4_000 }), {
    toCordon: 800,
    toDrained: 3_000,
    toExit: undefined,
  });
  assert.deepEqual(peerSample({ start: 1_000, exited: 9_500 }), {
    toCordon: undefined,
    toDrained: undefined,
    toExit: 8_500,
  });
});

Deno.test("peerVersions reads the pinned versions of setup.sh and nothing else", () => {
  const script = [
    "#!/usr/bin/env bash",
    "ETCD_VERSION=v3.6.16",
    "# KUBE_VERSION=v0.0.0 in a comment does not count",
    "KUBE_VERSION=v1.34.4",
    'PEERS_DIR="${PEERS_DIR:-x}"',
    "NTH_VERSION=v1.25.1",
  ].join("\n");
  assert.deepEqual(peerVersions(script), { ETCD: "v3.6.16", KUBE: "v1.34.4", NTH: "v1.25.1" });
});

Deno.test("peerVersions finds every version the real setup.sh pins", async () => {
  const script = await Deno.readTextFile(new URL("../tools/peers/setup.sh", import.meta.url));
  assert.deepEqual(Object.keys(peerVersions(script)).sort(), [
    "ACTIONLINT",
    "AEMM",
    "ETCD",
    "HELM",
    "KUBE",
    "KWOK",
    "MOTO",
    "NTH",
  ]);
});

// --- bench/soak.ts ---

Deno.test("leastSquaresSlope gives the slope of points on a line", () => {
  assert.equal(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(leastSquaresSlope([10, 20], [5, 5]), 0);
});

Deno.test("leastSquaresSlope fits noisy points by least squares, not end to end", () => {
  // End to end would be (4 - 0) / 4 = 1; the middle points pull the fit to 0.6.
  assert.ok(Math.abs(leastSquaresSlope([0, 1, 2, 3, 4], [0, 3, 2, 1, 4]) - 0.6) < 1e-12);
});

Deno.test("leastSquaresSlope gives no slope to a sawtooth that returns to where it began", () => {
  const x = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  assert.equal(leastSquaresSlope(x, [50, 55, 60, 55, 50, 55, 60, 55, 50]), 0);
  // Two climbs of 15 and a fall: far flatter than one climb's 5 per step.
  assert.ok(leastSquaresSlope(x, [50, 55, 60, 65, 50, 55, 60, 65, 50]) < 1);
});

Deno.test("leastSquaresSlope rejects too few points, unequal lengths, non-finite values, one x", () => {
  assert.throws(() => leastSquaresSlope([1], [1]), {
    name: "RangeError",
    message: "leastSquaresSlope: needs at least two points",
  });
  assert.throws(() => leastSquaresSlope([1, 2], [1]), {
    name: "RangeError",
    message: "leastSquaresSlope: 2 x values but 1 y values",
  });
  assert.throws(() => leastSquaresSlope([1, 2], [1, NaN]), {
    name: "RangeError",
    message: "leastSquaresSlope: not a finite number: NaN",
  });
  assert.throws(() => leastSquaresSlope([3, 3, 3], [1, 2, 3]), {
    name: "RangeError",
    message: "leastSquaresSlope: every x is the same",
  });
});

function soakSample(minutes: number, rssMiB: number, cpuTicks: number): SoakSample {
  return { at: minutes * 60_000, rss: rssMiB * MIB, cpuTicks };
}

Deno.test("soakStats reports first, last, min and peak RSS, the slope in MiB per hour and the CPU share", () => {
  const stats = soakStats([
    soakSample(0, 50, 0),
    soakSample(10, 58, 30),
    soakSample(20, 49, 60),
    soakSample(30, 51.5, 90),
  ], 100);
  assert.equal(stats.samples, 4);
  assert.equal(stats.durationMs, 30 * 60_000);
  assert.equal(stats.firstRss, 50 * MIB);
  assert.equal(stats.lastRss, 51.5 * MIB);
  assert.equal(stats.minRss, 49 * MIB);
  assert.equal(stats.peakRss, 58 * MIB);
  // Least squares over (0, 50), (1/6, 58), (1/3, 49), (1/2, 51.5) (hours, MiB):
  // Sxy = -0.375, Sxx = 5/36, slope -2.7 MiB/h; end to end it would be +3.
  assert.ok(Math.abs(stats.slopeMiBPerHour - -2.7) < 1e-9, String(stats.slopeMiBPerHour));
  // 90 ticks at 100 Hz = 0.9 s of CPU over 1800 s.
  assert.ok(Math.abs(stats.cpuPercent - 0.05) < 1e-12);
});

Deno.test("soakStats turns a steady growth into its hourly rate", () => {
  const samples = Array.from({ length: 7 }, (_, i) => soakSample(i * 10, 50 + i * 0.5, i));
  assert.ok(Math.abs(soakStats(samples, 100).slopeMiBPerHour - 3) < 1e-9);
});

Deno.test("soakStats rejects fewer than two samples and samples out of time order", () => {
  assert.throws(() => soakStats([soakSample(0, 50, 0)], 100), {
    name: "RangeError",
    message: "soakStats: needs at least two samples",
  });
  assert.throws(() => soakStats([soakSample(1, 50, 0), soakSample(0, 50, 1)], 100), RangeError);
});
