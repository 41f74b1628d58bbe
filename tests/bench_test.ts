import assert from "node:assert/strict";
import { maybeSummarize, summarize } from "../bench/stats.ts";
import { formatMiB, formatMs, formatRatio, formatSummary, markdownTable } from "../bench/format.ts";
import { cpuPercent, parseCpuTicks, parseStatus, pidsMatching } from "../bench/procfs.ts";
import { type MachineInfo, parseCpuModel, parseMemTotal } from "../bench/machine.ts";
import { type ApiTimeline, apiTimeline, logTime, span } from "../bench/timeline.ts";
import { type DetectionSample, detectionSample, noticeDelay } from "../bench/detection.ts";
import {
  type DrainCase,
  drainCases,
  type KubectlDrainSample,
  kubectlDrainSample,
  type OurDrainSample,
  ourDrainSample,
} from "../bench/drain.ts";
import { HANDLER_POD, mixedPods } from "../bench/pods.ts";
import { parseBenchArgs, parseResultsJson } from "../bench/run.ts";
import { type BenchResults, renderResults, type Verdict, verdicts } from "../bench/report.ts";
import type { HandlerRun } from "../bench/handler_run.ts";
import type { KubectlRun } from "../bench/kubectl_run.ts";
import type { IdleFootprint } from "../bench/footprint.ts";
import { peerSample, peerVersions } from "../bench/peers.ts";
import {
  leastSquaresSlope,
  type SoakResult,
  type SoakSample,
  soakStats,
  type SoakSubject,
} from "../bench/soak.ts";
import type { ApiRequestRecord } from "../tools/fake_apiserver_store.ts";

const MIB = 1_048_576;

// ---------------------------------------------------------------------------------------------
// bench/stats.ts

Deno.test("summarize takes the middle sample of an odd count as the median and reports the extremes", () => {
  assert.deepEqual(summarize([840, 790, 812]), { n: 3, median: 812, min: 790, max: 840 });
});

Deno.test("summarize takes the middle of an even count as the mean of the two middle samples", () => {
  assert.deepEqual(summarize([10, 1, 4, 3]), { n: 4, median: 3.5, min: 1, max: 10 });
});

Deno.test("summarize of a single sample makes it the median, minimum and maximum", () => {
  assert.deepEqual(summarize([42]), { n: 1, median: 42, min: 42, max: 42 });
});

Deno.test("summarize sorts numerically and leaves the caller's array untouched", () => {
  const samples = [100, 9, 25];
  assert.deepEqual(summarize(samples), { n: 3, median: 25, min: 9, max: 100 });
  assert.deepEqual(samples, [100, 9, 25]);
});

Deno.test("summarize rejects an empty list with a RangeError", () => {
  assert.throws(() => summarize([]), { name: "RangeError", message: "summarize: no samples" });
});

Deno.test("summarize rejects a non-finite sample with a RangeError naming it", () => {
  assert.throws(() => summarize([1, NaN, 3]), {
    name: "RangeError",
    message: "summarize: sample is not a finite number: NaN",
  });
  assert.throws(() => summarize([Infinity]), {
    name: "RangeError",
    message: "summarize: sample is not a finite number: Infinity",
  });
  assert.throws(() => summarize([2, -Infinity]), {
    name: "RangeError",
    message: "summarize: sample is not a finite number: -Infinity",
  });
});

Deno.test("maybeSummarize summarises only the samples that exist", () => {
  assert.deepEqual(maybeSummarize([undefined, 5, 7]), { n: 2, median: 6, min: 5, max: 7 });
});

Deno.test("maybeSummarize returns undefined when no sample exists", () => {
  assert.equal(maybeSummarize([undefined]), undefined);
  assert.equal(maybeSummarize([]), undefined);
});

Deno.test("maybeSummarize still rejects a non-finite sample", () => {
  assert.throws(() => maybeSummarize([undefined, NaN]), { name: "RangeError" });
});

// ---------------------------------------------------------------------------------------------
// bench/format.ts

Deno.test("formatMs gives whole milliseconds below 10 s", () => {
  assert.equal(formatMs(812.4), "812 ms");
  assert.equal(formatMs(0), "0 ms");
  assert.equal(formatMs(9_999), "9999 ms");
  assert.equal(formatMs(-250), "-250 ms");
});

Deno.test("formatMs gives seconds with one decimal from 10 s on", () => {
  assert.equal(formatMs(10_000), "10.0 s");
  assert.equal(formatMs(20_569), "20.6 s");
  assert.equal(formatMs(-12_340), "-12.3 s");
});

Deno.test("formatMs rejects a non-finite duration with a RangeError", () => {
  assert.throws(() => formatMs(NaN), {
    name: "RangeError",
    message: "formatMs: not a finite duration: NaN",
  });
  assert.throws(() => formatMs(Infinity), { name: "RangeError" });
});

Deno.test("formatMiB gives mebibytes with one decimal", () => {
  assert.equal(formatMiB(51_380 * 1024), "50.2 MiB");
  assert.equal(formatMiB(48 * MIB), "48.0 MiB");
  assert.equal(formatMiB(0), "0.0 MiB");
});

Deno.test("formatMiB rejects a non-finite size with a RangeError", () => {
  assert.throws(() => formatMiB(Infinity), {
    name: "RangeError",
    message: "formatMiB: not a finite size: Infinity",
  });
});

Deno.test("formatSummary shows the median with its range", () => {
  assert.equal(
    formatSummary({ n: 3, median: 812, min: 790, max: 840 }, formatMs),
    "812 ms (790 ms–840 ms)",
  );
});

Deno.test("formatSummary shows just the median for a single run", () => {
  assert.equal(formatSummary({ n: 1, median: 812, min: 812, max: 812 }, formatMs), "812 ms");
});

Deno.test("formatSummary shows just the median when the formatted extremes agree", () => {
  assert.equal(formatSummary({ n: 3, median: 812.2, min: 811.9, max: 812.4 }, formatMs), "812 ms");
});

Deno.test("formatSummary shows a dash for a missing summary", () => {
  assert.equal(formatSummary(undefined, formatMs), "—");
});

Deno.test("formatRatio gives two significant digits and a multiplication sign", () => {
  assert.equal(formatRatio(1_100, 20_600), "0.053×");
  assert.equal(formatRatio(1, 1), "1×");
  assert.equal(formatRatio(3, 2), "1.5×");
  assert.equal(formatRatio(0, 5), "0×");
  assert.equal(formatRatio(12_345, 10), "1200×");
});

Deno.test("formatRatio gives a dash when either side is missing or the divisor is zero", () => {
  assert.equal(formatRatio(undefined, 5), "—");
  assert.equal(formatRatio(5, undefined), "—");
  assert.equal(formatRatio(5, 0), "—");
});

Deno.test("markdownTable right-aligns columns as asked and pads the source", () => {
  assert.equal(
    markdownTable(["pods", "time"], [["30", "0.4 s"]], { align: ["right", "right"] }),
    "| pods |  time |\n| ---: | ----: |\n|   30 | 0.4 s |",
  );
});

Deno.test("markdownTable aligns left by default with columns at least three wide", () => {
  assert.equal(
    markdownTable(["a", "name"], [["x", "longer"], ["yy", ""]]),
    [
      "| a   | name   |",
      "| --- | ------ |",
      "| x   | longer |",
      "| yy  |        |",
    ].join("\n"),
  );
});

Deno.test("markdownTable mixes alignments per column, left for columns without one", () => {
  assert.equal(
    markdownTable(["label", "n", "note"], [["a", "7", "b"]], { align: ["left", "right"] }),
    "| label |   n | note |\n| ----- | --: | ---- |\n| a     |   7 | b    |",
  );
});

Deno.test("markdownTable escapes a pipe and flattens a newline in cells and headers", () => {
  assert.equal(
    markdownTable(["a|b"], [["x|y\nz"]]),
    "| a\\|b   |\n| ------ |\n| x\\|y z |",
  );
});

Deno.test("markdownTable gives only the header and rule when there are no rows", () => {
  assert.equal(markdownTable(["pods"], []), "| pods |\n| ---- |");
});

Deno.test("markdownTable throws a RangeError for a row with the wrong number of cells", () => {
  assert.throws(() => markdownTable(["a", "b"], [["1", "2"], ["3"]]), {
    name: "RangeError",
    message: "markdownTable: row 1 has 1 cells, expected 2",
  });
  assert.throws(() => markdownTable(["a"], [["1", "2"]]), {
    name: "RangeError",
    message: "markdownTable: row 0 has 2 cells, expected 1",
  });
});

Deno.test("markdownTable throws a RangeError when there are no columns", () => {
  assert.throws(() => markdownTable([], []), {
    name: "RangeError",
    message: "markdownTable: no columns",
  });
});

// ---------------------------------------------------------------------------------------------
// bench/procfs.ts

const STATUS = [
  "Name:\tdeno",
  "Umask:\t0022",
  "State:\tS (sleeping)",
  "Pid:\t4242",
  "VmPeak:\t 3412340 kB",
  "VmSize:\t 3347000 kB",
  "VmHWM:\t   52748 kB",
  "VmRSS:\t   51380 kB",
  "RssAnon:\t   15560 kB",
  "RssFile:\t   35820 kB",
  "RssShmem:\t       0 kB",
  "Threads:\t7",
  "",
].join("\n");

Deno.test("parseStatus reads VmRSS, VmHWM, RssAnon and RssFile in bytes", () => {
  assert.deepEqual(parseStatus(STATUS), {
    rss: 51_380 * 1024,
    hwm: 52_748 * 1024,
    rssAnon: 15_560 * 1024,
    rssFile: 35_820 * 1024,
  });
});

Deno.test("parseStatus throws a SyntaxError naming a missing field", () => {
  const noFile = STATUS.replace(/^RssFile:.*\n/m, "");
  assert.throws(() => parseStatus(noFile), {
    name: "SyntaxError",
    message: '/proc status: no "RssFile" line',
  });
});

Deno.test("parseCpuTicks adds utime and stime, fields 14 and 15 of /proc/<pid>/stat", () => {
  assert.equal(
    parseCpuTicks("42 (deno) S 1 42 42 0 -1 4194560 100 0 0 0 37 12 0 0 20 0 7 0"),
    49,
  );
});

Deno.test("parseCpuTicks counts fields from the last parenthesis of a command name with spaces and parentheses", () => {
  const stat = "4242 (my (odd) cmd) x) R 1 4242 4242 0 -1 4194560 2315 0 0 0 250 7 0 0 20 0 7 0 " +
    "123456 3412340000 12845 18446744073709551615\n";
  assert.equal(parseCpuTicks(stat), 257);
});

Deno.test("parseCpuTicks throws a SyntaxError without a command name in parentheses", () => {
  assert.throws(() => parseCpuTicks("42 deno S 1 42 42 0 -1 4194560 100 0 0 0 37 12"), {
    name: "SyntaxError",
    message: "/proc stat: no command name in parentheses",
  });
});

Deno.test("parseCpuTicks throws a SyntaxError when utime and stime are missing", () => {
  assert.throws(() => parseCpuTicks("42 (deno) S 1 42 42"), { name: "SyntaxError" });
});

Deno.test("cpuPercent gives the share of one core between two samples", () => {
  assert.equal(cpuPercent({ cpuTicks: 100, at: 0 }, { cpuTicks: 115, at: 60_000 }, 100), 0.25);
  assert.equal(cpuPercent({ cpuTicks: 0, at: 1_000 }, { cpuTicks: 50, at: 2_000 }, 100), 50);
  assert.equal(cpuPercent({ cpuTicks: 10, at: 0 }, { cpuTicks: 10, at: 5_000 }, 250), 0);
});

Deno.test("cpuPercent throws a RangeError when the samples are not in time order", () => {
  assert.throws(() => cpuPercent({ cpuTicks: 0, at: 5 }, { cpuTicks: 1, at: 5 }, 100), {
    name: "RangeError",
    message: "cpuPercent: samples must be in time order",
  });
  assert.throws(() => cpuPercent({ cpuTicks: 0, at: 9 }, { cpuTicks: 1, at: 5 }, 100), {
    name: "RangeError",
  });
});

Deno.test("pidsMatching finds the pids whose command line contains the needle", () => {
  assert.deepEqual(pidsMatching("  12 deno run main.ts\n  13 bash\n", "main.ts"), [12]);
  const ps = [
    "    1 /sbin/init",
    "  311 deno run --allow-net main.ts --kubeconfig /tmp/a/kubeconfig",
    "  312 deno run --allow-net main.ts --kubeconfig /tmp/b/kubeconfig",
    " 4000 grep /tmp/a/kubeconfig",
    "",
  ].join("\n");
  assert.deepEqual(pidsMatching(ps, "/tmp/a/kubeconfig"), [311, 4000]);
  assert.deepEqual(pidsMatching(ps, "main.ts"), [311, 312]);
  assert.deepEqual(pidsMatching(ps, "kubectl"), []);
});

Deno.test("pidsMatching matches the command line only, not the pid, and skips other lines", () => {
  assert.deepEqual(pidsMatching("  PID ARGS\n   13 bash\n  213 sleep 13\n", "13"), [213]);
});

// ---------------------------------------------------------------------------------------------
// bench/machine.ts

Deno.test("parseCpuModel takes the first model name, trimmed", () => {
  const cpuinfo =
    "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7R13 Processor  \n" +
    "\nprocessor\t: 1\nmodel name\t: Something Else\n";
  assert.equal(parseCpuModel(cpuinfo), "AMD EPYC 7R13 Processor");
  assert.equal(parseCpuModel("processor\t: 0\nmodel name\t: AMD EPYC\n"), "AMD EPYC");
});

Deno.test("parseCpuModel gives unknown when cpuinfo has no model name", () => {
  assert.equal(
    parseCpuModel("processor\t: 0\nBogoMIPS\t: 243.75\nCPU implementer\t: 0x41\n"),
    "unknown",
  );
});

Deno.test("parseMemTotal reads MemTotal in bytes", () => {
  assert.equal(parseMemTotal("MemTotal:       24684544 kB\n"), 25_276_973_056);
  assert.equal(
    parseMemTotal("MemTotal:        8000000 kB\nMemFree:         1000000 kB\n"),
    8_192_000_000,
  );
});

Deno.test("parseMemTotal throws a SyntaxError without a MemTotal line", () => {
  assert.throws(() => parseMemTotal("MemFree:         1000000 kB\n"), {
    name: "SyntaxError",
    message: "/proc/meminfo: no MemTotal line",
  });
});

// ---------------------------------------------------------------------------------------------
// bench/timeline.ts

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

// ---------------------------------------------------------------------------------------------
// bench/detection.ts

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

// ---------------------------------------------------------------------------------------------
// bench/drain.ts

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

// ---------------------------------------------------------------------------------------------
// bench/pods.ts

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

// ---------------------------------------------------------------------------------------------
// bench/run.ts

const DEFAULT_OUT = new URL("../bench/RESULTS.md", import.meta.url).pathname;

Deno.test("parseBenchArgs defaults to 5 runs, 3 kubectl and peer runs, 3 idle handlers, every benchmark", () => {
  assert.deepEqual(parseBenchArgs([]), {
    runs: 5,
    kubectlRuns: 3,
    peerRuns: 3,
    idleInstances: 3,
    idleWindowMs: 60_000,
    quick: false,
    only: new Set(["detection", "drain", "footprint", "peers"]),
    v8Flags: undefined,
    variant: undefined,
    soakMinutes: undefined,
    soakEveryMs: 10_000,
    out: DEFAULT_OUT,
    json: undefined,
    render: undefined,
  });
});

Deno.test("parseBenchArgs --quick makes one run of each and one idle handler", () => {
  const args = parseBenchArgs(["--quick"])!;
  assert.equal(args.quick, true);
  assert.equal(args.runs, 1);
  assert.equal(args.kubectlRuns, 1);
  assert.equal(args.peerRuns, 1);
  assert.equal(args.idleInstances, 1);
  assert.equal(args.idleWindowMs, 10_000);
});

Deno.test("parseBenchArgs lets explicit counts override --quick", () => {
  const args = parseBenchArgs(["--quick", "--runs", "4", "--idle", "2"])!;
  assert.equal(args.runs, 4);
  assert.equal(args.kubectlRuns, 3);
  assert.equal(args.idleInstances, 2);
});

Deno.test("parseBenchArgs takes kubectl runs from runs, at most 3, unless given; 0 skips kubectl", () => {
  assert.equal(parseBenchArgs(["--runs", "2"])!.kubectlRuns, 2);
  assert.equal(parseBenchArgs(["--runs", "9"])!.kubectlRuns, 3);
  assert.equal(parseBenchArgs(["--runs", "9", "--kubectl-runs", "7"])!.kubectlRuns, 7);
  assert.equal(parseBenchArgs(["--kubectl-runs", "0"])!.kubectlRuns, 0);
});

Deno.test("parseBenchArgs takes peer runs from runs, at most 3, unless given", () => {
  assert.equal(parseBenchArgs(["--runs", "2"])!.peerRuns, 2);
  assert.equal(parseBenchArgs(["--runs", "9"])!.peerRuns, 3);
  assert.equal(parseBenchArgs(["--peer-runs", "5"])!.peerRuns, 5);
  assert.throws(() => parseBenchArgs(["--peer-runs", "0"]), {
    name: "TypeError",
    message: '--peer-runs: expected an integer of at least 1, got "0"',
  });
});

Deno.test("parseBenchArgs --only selects benchmarks from a comma-separated list", () => {
  assert.deepEqual(parseBenchArgs(["--only", "drain"])!.only, new Set(["drain"]));
  assert.deepEqual(
    parseBenchArgs(["--only", "footprint, detection"])!.only,
    new Set(["footprint", "detection"]),
  );
});

Deno.test("parseBenchArgs --only rejects an unknown benchmark with a TypeError", () => {
  assert.throws(() => parseBenchArgs(["--only", "drain,speed"]), {
    name: "TypeError",
    message: '--only: unknown benchmark "speed"; use detection,drain,footprint,peers,soak',
  });
  assert.throws(() => parseBenchArgs(["--only", ""]), {
    name: "TypeError",
    message: '--only: unknown benchmark ""; use detection,drain,footprint,peers,soak',
  });
});

Deno.test("parseBenchArgs rejects a bad --runs with a TypeError naming the flag", () => {
  for (const value of ["0", "abc", "1.5", "-1", "", " 3"]) {
    assert.throws(() => parseBenchArgs([`--runs=${value}`]), {
      name: "TypeError",
      message: `--runs: expected an integer of at least 1, got ${JSON.stringify(value)}`,
    });
  }
});

Deno.test("parseBenchArgs rejects a bad --kubectl-runs or --idle with a TypeError naming the flag", () => {
  assert.throws(() => parseBenchArgs(["--kubectl-runs", "many"]), {
    name: "TypeError",
    message: '--kubectl-runs: expected an integer of at least 0, got "many"',
  });
  assert.throws(() => parseBenchArgs(["--idle", "0"]), {
    name: "TypeError",
    message: '--idle: expected an integer of at least 1, got "0"',
  });
});

Deno.test("parseBenchArgs rejects an unknown option or a positional argument with a TypeError", () => {
  assert.throws(() => parseBenchArgs(["--bogus"]), { name: "TypeError" });
  assert.throws(() => parseBenchArgs(["drain"]), { name: "TypeError" });
});

Deno.test("parseBenchArgs --help returns undefined", () => {
  assert.equal(parseBenchArgs(["--help"]), undefined);
  assert.equal(parseBenchArgs(["--runs", "3", "--help"]), undefined);
});

Deno.test("parseBenchArgs --variant sets the variant's V8 flags and an empty one disables it", () => {
  assert.equal(parseBenchArgs(["--variant=--max-opt=2"])!.variant, "--max-opt=2");
  assert.equal(parseBenchArgs(["--variant", ""])!.variant, undefined);
  assert.equal(parseBenchArgs(["--variant="])!.variant, undefined);
});

Deno.test("parseBenchArgs takes V8 flags, output and JSON paths; empty V8 flags mean none", () => {
  const args = parseBenchArgs([
    "--v8-flags=--max-opt=1",
    "--out",
    "/tmp/results.md",
    "--json",
    "/tmp/results.json",
  ])!;
  assert.equal(args.v8Flags, "--max-opt=1");
  assert.equal(args.out, "/tmp/results.md");
  assert.equal(args.json, "/tmp/results.json");
  assert.equal(parseBenchArgs(["--v8-flags", ""])!.v8Flags, undefined);
});

// ---------------------------------------------------------------------------------------------
// bench/report.ts

const MACHINE: MachineInfo = {
  cpuModel: "AMD EPYC 7R13 Processor",
  cores: 2,
  memoryBytes: 8_192_000_000,
  kernel: "6.8.0-1021-aws",
  deno: "2.9.0",
  v8: "13.7.152.6",
  kubectl: "Client Version: v1.32.4",
  date: new Date("2026-11-25T10:00:00.000Z"),
};

function baseResults(): BenchResults {
  return {
    machine: MACHINE,
    settings: {
      runs: 3,
      kubectlRuns: 2,
      kubectlConcurrency: 4,
      quick: false,
      deleteAfterMs: 500,
      idleInstances: 3,
      idleSettleMs: 5_000,
    },
  };
}

function idle(rssMiB: number, cpu: number, fields: Partial<IdleFootprint> = {}): IdleFootprint {
  return {
    windowMs: 60_000,
    rss: rssMiB * MIB,
    rssAnon: 15 * MIB,
    rssFile: (rssMiB - 15) * MIB,
    hwm: (rssMiB + 2) * MIB,
    cpuPercent: cpu,
    startupCpuSeconds: 0.5,
    series: [rssMiB * MIB],
    ...fields,
  };
}

function detection(servedToCordon: number, seenToCordon = 100): DetectionSample {
  return {
    servedToSeen: servedToCordon - seenToCordon,
    seenToCordon,
    servedToCordon,
    servedToFirstEviction: servedToCordon + 20,
    loggedToCordon: seenToCordon - 10,
  };
}

function ours(allIssued: number, done = allIssued + 1_000): OurDrainSample {
  return {
    allIssued,
    lastAccepted: allIssued + 200,
    done,
    servedToLogged: 500,
    requests: 130,
    evictionRequests: 118,
    peakRss: 60 * MIB,
  };
}

function theirs(allIssued: number, exit: number): KubectlDrainSample {
  return {
    allIssued,
    lastAccepted: allIssued + 300,
    exit,
    requests: 250,
    evictionRequests: 110,
  };
}

function drainCase(
  pods: number,
  latencyMs: number,
  oursSamples: OurDrainSample[],
  kubectlSamples: KubectlDrainSample[],
): DrainCase {
  const load = mixedPods("node-a", pods);
  return {
    pods,
    latencyMs,
    evictable: load.evictable,
    guarded: load.guarded,
    ours: oursSamples,
    kubectl: kubectlSamples,
  };
}

function verdict(results: BenchResults, target: RegExp): Verdict {
  const found = verdicts(results).filter((v) => target.test(v.target));
  assert.equal(found.length, 1, `one verdict for ${target}`);
  return found[0];
}

Deno.test("verdicts reports every target as not measured when nothing ran", () => {
  assert.deepEqual(verdicts(baseResults()), [
    {
      target: "idle RSS after 60 s of polling",
      goal: "≤ 48.0 MiB",
      measured: "not run",
      met: undefined,
    },
    { target: "idle CPU", goal: "≤ 0.10 % of a core", measured: "not run", met: undefined },
    {
      target: "notice served → cordon (cold client, every run)",
      goal: "≤ 2000 ms (poll interval + 1 s)",
      measured: "not run",
      met: undefined,
    },
    {
      target: "notice received → every eviction issued (110 pods, 5 ms)",
      goal: "≤ 1500 ms",
      measured: "not run",
      met: undefined,
    },
    { target: "drain no slower than kubectl drain", goal: "ours ≤ kubectl", measured: "not run" },
    {
      target: "real peers: idle RSS beside aws-node-termination-handler",
      goal: "≤ aws-node-termination-handler in the same run",
      measured: "not run",
      met: undefined,
    },
    {
      target: "soak (30 min, shipped flags): idle RSS",
      goal: "peak ≤ 48.0 MiB, flat (≤ 1 MiB/h)",
      measured: "not run",
      met: undefined,
    },
    {
      target: "real peers, 110 pods: notice served → cordon",
      goal: "median ≤ 700 ms",
      measured: "not run",
      met: undefined,
    },
    {
      target: "peak RSS over a 250-pod drain",
      goal: "≤ 150.0 MiB",
      measured: "not run",
      met: undefined,
    },
  ]);
});

Deno.test("verdicts judges idle RSS by the median over the idle handlers, not the worst one", () => {
  const results = { ...baseResults(), idle: [idle(40, 0.1), idle(60, 0.2), idle(47, 0.3)] };
  assert.deepEqual(verdict(results, /^idle RSS/), {
    target: "idle RSS after 60 s of polling",
    goal: "≤ 48.0 MiB",
    measured: "median 47.0 MiB, max 60.0 MiB",
    met: true,
  });
});

Deno.test("verdicts misses idle RSS when the median handler is over the target", () => {
  const results = { ...baseResults(), idle: [idle(47, 0.1), idle(49, 0.1), idle(50, 0.1)] };
  const v = verdict(results, /^idle RSS/);
  assert.equal(v.measured, "median 49.0 MiB, max 50.0 MiB");
  assert.equal(v.met, false);
});

Deno.test("verdicts takes the median of an even number of idle handlers as the mean of the middle two", () => {
  const met = { ...baseResults(), idle: [idle(46, 0.1), idle(50, 0.1)] };
  assert.equal(verdict(met, /^idle RSS/).measured, "median 48.0 MiB, max 50.0 MiB");
  assert.equal(verdict(met, /^idle RSS/).met, true);
  const missed = { ...baseResults(), idle: [idle(46, 0.1), idle(50.2, 0.1)] };
  assert.equal(verdict(missed, /^idle RSS/).met, false);
});

Deno.test("verdicts names the idle window of the handlers measured", () => {
  const results = { ...baseResults(), idle: [idle(40, 0.1, { windowMs: 10_000 })] };
  assert.equal(verdict(results, /^idle RSS/).target, "idle RSS after 10 s of polling");
});

Deno.test("verdicts judges idle CPU by the median over the idle handlers", () => {
  const met = { ...baseResults(), idle: [idle(40, 0.05), idle(40, 0.9), idle(40, 0.1)] };
  assert.deepEqual(verdict(met, /^idle CPU/), {
    target: "idle CPU",
    goal: "≤ 0.10 % of a core",
    measured: "median 0.10 %, max 0.90 %",
    met: true,
  });
  const missed = { ...baseResults(), idle: [idle(40, 0.08), idle(40, 0.12), idle(40, 0.7)] };
  assert.equal(verdict(missed, /^idle CPU/).measured, "median 0.12 %, max 0.70 %");
  assert.equal(verdict(missed, /^idle CPU/).met, false);
});

Deno.test("verdicts leaves the idle targets unmeasured for an empty idle list", () => {
  const results = { ...baseResults(), idle: [] };
  assert.equal(verdict(results, /^idle RSS/).met, undefined);
  assert.equal(verdict(results, /^idle CPU/).measured, "not run");
});

Deno.test("verdicts ignores the idle variant when judging the shipped handler", () => {
  const shipped = { ...baseResults(), idle: [idle(40, 0.05), idle(41, 0.08)] };
  const withVariant: BenchResults = {
    ...shipped,
    idleVariants: [{
      label: "`DENO_V8_FLAGS=--max-opt=1`",
      handlers: [idle(90, 3, { v8Flags: "--max-opt=1" }), idle(95, 4, { v8Flags: "--max-opt=1" })],
    }],
  };
  assert.deepEqual(verdicts(withVariant), verdicts(shipped));
  assert.equal(verdict(withVariant, /^idle RSS/).met, true);
  assert.equal(verdict(withVariant, /^idle CPU/).met, true);
});

Deno.test("verdicts requires every cold detection run to cordon within the target", () => {
  const met = {
    ...baseResults(),
    detection: { cold: [detection(1_200), detection(2_000), detection(1_900)], warm: [], pods: 30 },
  };
  assert.deepEqual(verdict(met, /^notice served → cordon/), {
    target: "notice served → cordon (cold client, every run)",
    goal: "≤ 2000 ms (poll interval + 1 s)",
    measured: "max 2000 ms, median 1900 ms",
    met: true,
  });
  const missed = {
    ...baseResults(),
    detection: {
      cold: [detection(900), detection(2_001), detection(1_000)],
      warm: [detection(500)],
      pods: 30,
    },
  };
  assert.equal(verdict(missed, /^notice served → cordon/).measured, "max 2001 ms, median 1000 ms");
  assert.equal(verdict(missed, /^notice served → cordon/).met, false);
});

Deno.test("verdicts does not judge detection from warm runs alone", () => {
  const results = {
    ...baseResults(),
    detection: { cold: [], warm: [detection(500)], pods: 30 },
  };
  assert.equal(verdict(results, /^notice served → cordon/).met, undefined);
  assert.equal(verdict(results, /^notice served → cordon/).measured, "not run");
});

Deno.test("verdicts judges every eviction issued by the median of the 110-pod 5 ms case", () => {
  const met = {
    ...baseResults(),
    drain: [
      drainCase(30, 5, [ours(9_000)], []),
      drainCase(110, 50, [ours(9_000)], []),
      drainCase(110, 5, [ours(900), ours(1_600), ours(1_400)], []),
    ],
  };
  assert.deepEqual(verdict(met, /every eviction issued/), {
    target: "notice received → every eviction issued (110 pods, 5 ms)",
    goal: "≤ 1500 ms",
    measured: "median 1400 ms, max 1600 ms",
    met: true,
  });
  const missed = {
    ...baseResults(),
    drain: [drainCase(110, 5, [ours(1_400), ours(1_600), ours(1_700)], [])],
  };
  assert.equal(verdict(missed, /every eviction issued/).met, false);
});

Deno.test("verdicts leaves every eviction issued unmeasured without a 110-pod 5 ms run", () => {
  const absent = { ...baseResults(), drain: [drainCase(30, 5, [ours(500)], [])] };
  assert.equal(verdict(absent, /every eviction issued/).met, undefined);
  const empty = { ...baseResults(), drain: [drainCase(110, 5, [], [])] };
  assert.equal(verdict(empty, /every eviction issued/).measured, "not run");
});

Deno.test("verdicts compares with kubectl by the worst median ratio over the cases", () => {
  const met = {
    ...baseResults(),
    drain: [
      // done 2000 / exit 20000 = 0.1; issued 500 / 10000 = 0.05.
      drainCase(30, 5, [ours(500, 2_000)], [theirs(10_000, 20_000)]),
      // done 3000 / exit 12000 = 0.25; issued 1000 / 5000 = 0.2.
      drainCase(110, 5, [ours(1_000, 3_000)], [theirs(5_000, 12_000)]),
      // No kubectl runs: not compared, however slow.
      drainCase(250, 5, [ours(99_000, 99_000)], []),
    ],
  };
  assert.deepEqual(verdict(met, /kubectl/), {
    target: "drain no slower than kubectl drain (every case)",
    goal: "ours ≤ kubectl (ratio ≤ 1×)",
    measured: "worst ratio 0.25×",
    met: true,
  });
  const missed = {
    ...baseResults(),
    drain: [
      drainCase(30, 5, [ours(500, 2_000)], [theirs(10_000, 20_000)]),
      // issued 1100 / 1000 = 1.1, though done is far quicker.
      drainCase(110, 50, [ours(1_100, 2_000)], [theirs(1_000, 30_000)]),
    ],
  };
  assert.equal(verdict(missed, /kubectl/).measured, "worst ratio 1.1×");
  assert.equal(verdict(missed, /kubectl/).met, false);
});

Deno.test("verdicts leaves the kubectl comparison unmeasured when kubectl did not run", () => {
  const results = { ...baseResults(), drain: [drainCase(110, 5, [ours(900)], [])] };
  assert.deepEqual(verdict(results, /kubectl/), {
    target: "drain no slower than kubectl drain",
    goal: "ours ≤ kubectl",
    measured: "not run",
  });
});

function fullResults(): BenchResults {
  return {
    machine: MACHINE,
    settings: {
      runs: 3,
      kubectlRuns: 2,
      kubectlConcurrency: 4,
      quick: false,
      variantV8Flags: "--max-opt=1",
      deleteAfterMs: 500,
      idleInstances: 2,
      idleSettleMs: 5_000,
      durationMs: 754_300,
    },
    detection: {
      cold: [detection(1_500, 400), detection(1_300, 300), detection(1_700, 500)],
      warm: [detection(1_000, 60), detection(900, 50), detection(1_100, 40)],
      pods: 30,
    },
    drain: [
      drainCase(30, 5, [ours(300, 1_000)], [theirs(3_000, 5_000)]),
      drainCase(110, 5, [ours(900, 1_900), ours(1_000, 2_100)], [theirs(11_000, 13_000)]),
      drainCase(30, 50, [ours(600, 1_500)], []),
      drainCase(110, 50, [ours(2_000, 3_000)], []),
    ],
    idle: [
      idle(40, 0.1, { series: [39 * MIB, 40 * MIB] }),
      idle(42, 0.3, { series: [41 * MIB, 42 * MIB] }),
    ],
    idleVariants: [
      {
        label: "`DENO_V8_FLAGS=--max-opt=1`",
        handlers: [
          idle(38, 0.2, { v8Flags: "--max-opt=1" }),
          idle(38, 0.2, { v8Flags: "--max-opt=1" }),
        ],
      },
      { label: "`deno run --no-config`", handlers: [idle(33, 0.15)] },
      { label: "never ran", handlers: [] },
    ],
  };
}

/** The cells of the Markdown table that follows `heading` in `md`, header row first. */
function tableAfter(md: string, heading: string): string[][] {
  const lines = md.split("\n");
  const start = lines.indexOf(heading);
  assert.notEqual(start, -1, `heading ${heading}`);
  const first = lines.findIndex((l, i) => i > start && l.startsWith("|"));
  const rows: string[][] = [];
  for (let i = first; i < lines.length && lines[i].startsWith("|"); i++) {
    if (i === first + 1) continue; // The alignment rule.
    rows.push(lines[i].slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
  }
  return rows;
}

Deno.test("renderResults writes the machine, the targets and every benchmark section in order", () => {
  const md = renderResults(fullResults());
  const headings = md.split("\n").filter((l) => l.startsWith("#"));
  assert.deepEqual(headings, [
    "# Benchmark results",
    "## Machine",
    "## Targets",
    "## 1. Detection latency",
    "## 2. Drain speed",
    "### API latency 5 ms",
    "### API latency 50 ms",
    "## 3. Footprint",
  ]);
  assert.ok(md.endsWith("|\n") || md.endsWith(".\n"));
  assert.ok(!md.endsWith("\n\n"));
});

Deno.test("renderResults describes the machine and the runs", () => {
  assert.deepEqual(tableAfter(renderResults(fullResults()), "## Machine"), [
    ["", ""],
    ["CPU", "AMD EPYC 7R13 Processor, 2 logical cores"],
    ["memory", "7812.5 MiB total"],
    ["kernel", "6.8.0-1021-aws"],
    ["Deno", "2.9.0 (V8 13.7.152.6)"],
    ["kubectl", "Client Version: v1.32.4"],
    ["date", "2026-11-25T10:00:00.000Z"],
    ["runs", "3 per case (kubectl: 2, up to 4 at once)"],
    ["bench wall time", "754.3 s"],
  ]);
});

Deno.test("renderResults writes one verdict per target", () => {
  assert.deepEqual(tableAfter(renderResults(fullResults()), "## Targets"), [
    ["target", "goal", "measured", "verdict"],
    ["idle RSS after 60 s of polling", "≤ 48.0 MiB", "median 41.0 MiB, max 42.0 MiB", "met"],
    ["idle CPU", "≤ 0.10 % of a core", "median 0.20 %, max 0.30 %", "**missed**"],
    [
      "notice served → cordon (cold client, every run)",
      "≤ 2000 ms (poll interval + 1 s)",
      "max 1700 ms, median 1500 ms",
      "met",
    ],
    [
      "notice received → every eviction issued (110 pods, 5 ms)",
      "≤ 1500 ms",
      "median 950 ms, max 1000 ms",
      "met",
    ],
    [
      "drain no slower than kubectl drain (every case)",
      "ours ≤ kubectl (ratio ≤ 1×)",
      "worst ratio 0.2×",
      "met",
    ],
    [
      "real peers: idle RSS beside aws-node-termination-handler",
      "≤ aws-node-termination-handler in the same run",
      "not run",
      "not measured",
    ],
    [
      "soak (30 min, shipped flags): idle RSS",
      "peak ≤ 48.0 MiB, flat (≤ 1 MiB/h)",
      "not run",
      "not measured",
    ],
    [
      "real peers, 110 pods: notice served → cordon",
      "median ≤ 700 ms",
      "not run",
      "not measured",
    ],
    ["peak RSS over a 110-pod drain", "≤ 150.0 MiB", "max 60.0 MiB, median 60.0 MiB", "met"],
  ]);
});

Deno.test("renderResults marks a missed target in bold and an unmeasured one as such", () => {
  const results = { ...baseResults(), idle: [idle(60, 0.1)] };
  const rows = tableAfter(renderResults(results), "## Targets");
  assert.deepEqual(rows.map((r) => r[3]), [
    "verdict",
    "**missed**",
    "met",
    "not measured",
    "not measured",
    "not measured",
    "not measured",
    "not measured",
    "not measured",
    "not measured",
  ]);
});

Deno.test("renderResults tabulates detection latency and the cost of the lazy import", () => {
  const md = renderResults(fullResults());
  assert.deepEqual(tableAfter(md, "## 1. Detection latency"), [
    [
      "Kubernetes client",
      "served → seen by a poll",
      "poll → cordon",
      "served → cordon",
      "poll → first eviction",
      "served → first eviction",
      "`notice received` → cordon",
    ],
    [
      "cold (not loaded yet)",
      "1100 ms (1000 ms–1200 ms)",
      "400 ms (300 ms–500 ms)",
      "1500 ms (1300 ms–1700 ms)",
      "420 ms (320 ms–520 ms)",
      "1520 ms (1320 ms–1720 ms)",
      "390 ms (290 ms–490 ms)",
    ],
    [
      "pre-warmed by a rebalance recommendation",
      "940 ms (850 ms–1060 ms)",
      "50 ms (40 ms–60 ms)",
      "1000 ms (900 ms–1100 ms)",
      "70 ms (60 ms–80 ms)",
      "1020 ms (920 ms–1120 ms)",
      "40 ms (30 ms–50 ms)",
    ],
  ]);
  assert.ok(
    md.includes(
      "The import of `@kubernetes/client-node` delays the first eviction by **350 ms** when no " +
        "rebalance recommendation came first (median poll → first eviction, cold minus " +
        "pre-warmed); the cordon does not wait for it.",
    ),
  );
});

Deno.test("renderResults tabulates each drain case with its ratio to kubectl", () => {
  const md = renderResults(fullResults());
  const header = [
    "pods",
    "ours: issued",
    "ours: accepted",
    "ours: done",
    "ours: requests",
    "kubectl: issued",
    "kubectl: accepted",
    "kubectl: exit",
    "kubectl: requests",
    "done ours/kubectl",
  ];
  assert.deepEqual(tableAfter(md, "### API latency 5 ms"), [
    header,
    [
      "30 (24 evicted, 2 PDB)",
      "300 ms",
      "500 ms",
      "1000 ms",
      "130",
      "3000 ms",
      "3300 ms",
      "5000 ms",
      "250",
      "0.2×",
    ],
    [
      "110 (104 evicted, 6 PDB)",
      "950 ms (900 ms–1000 ms)",
      "1150 ms (1100 ms–1200 ms)",
      "2000 ms (1900 ms–2100 ms)",
      "130",
      "11.0 s",
      "11.3 s",
      "13.0 s",
      "250",
      "0.15×",
    ],
  ]);
  assert.deepEqual(tableAfter(md, "### API latency 50 ms"), [
    header,
    ["30 (24 evicted, 2 PDB)", "600 ms", "800 ms", "1500 ms", "130", "—", "—", "—", "—", "—"],
    ["110 (104 evicted, 6 PDB)", "2000 ms", "2200 ms", "3000 ms", "130", "—", "—", "—", "—", "—"],
  ]);
  assert.ok(
    md.includes(
      "For reference, notice served → `notice received` over all handler drain runs: 500 ms " +
        "(the poll wait, see section 1).",
    ),
  );
});

Deno.test("renderResults tabulates the idle handlers as shipped and each variant that ran, under its label", () => {
  const md = renderResults(fullResults());
  assert.deepEqual(tableAfter(md, "## 3. Footprint"), [
    [
      "handler",
      "RSS",
      "anon / file-backed",
      "CPU (share of a core)",
      "start-up CPU",
      "RSS at end of extended window",
    ],
    [
      "as shipped (2)",
      "41.0 MiB (40.0 MiB–42.0 MiB)",
      "15.0 MiB / 26.0 MiB (25.0 MiB–27.0 MiB)",
      "0.20 % (0.10 %–0.30 %)",
      "0.50 s",
      "—",
    ],
    [
      "`DENO_V8_FLAGS=--max-opt=1` (2)",
      "38.0 MiB",
      "15.0 MiB / 23.0 MiB",
      "0.20 %",
      "0.50 s",
      "—",
    ],
    ["`deno run --no-config` (1)", "33.0 MiB", "15.0 MiB / 18.0 MiB", "0.15 %", "0.50 s", "—"],
  ]);
  assert.ok(md.includes("RSS every 10 s (first handler as shipped): 39.0, 40.0 MiB."));
  assert.ok(
    md.includes("Peak RSS (VmHWM) of the handler over a whole 110-pod drain at 5 ms: 60.0 MiB."),
  );
  assert.ok(
    md.includes("Peak RSS (VmHWM) of the handler over a whole 110-pod drain at 50 ms: 60.0 MiB."),
  );
  assert.ok(!md.includes("30-pod drain"));
  assert.ok(!md.includes("--quick"));
  assert.ok(!md.includes("The window was extended"));
});

Deno.test("renderResults reports an extended idle window and a quick run", () => {
  const results: BenchResults = {
    ...baseResults(),
    settings: { ...baseResults().settings, quick: true },
    idle: [
      idle(40, 0.1, {
        windowMs: 10_000,
        extended: { windowMs: 95_400, rss: 41 * MIB, cpuPercent: 0.12 },
      }),
    ],
  };
  const md = renderResults(results);
  assert.equal(
    tableAfter(md, "## 3. Footprint")[1][5],
    "41.0 MiB after 95 s (CPU 0.12 %)",
  );
  assert.ok(md.includes(" **--quick: a 10 s window instead of 60 s.**"));
  assert.ok(md.includes("The window was extended while the kubectl drains ran"));
  assert.deepEqual(tableAfter(md, "## Machine")[7], [
    "runs",
    "3 per case (kubectl: 2, up to 4 at once); --quick smoke run",
  ]);
});

Deno.test("renderResults leaves out the sections of benchmarks that did not run", () => {
  const md = renderResults(baseResults());
  const headings = md.split("\n").filter((l) => l.startsWith("#"));
  assert.deepEqual(headings, ["# Benchmark results", "## Machine", "## Targets"]);
  assert.ok(!md.includes("bench wall time"));
  const idleOnly = renderResults({ ...baseResults(), idle: [idle(40, 0.1)] });
  assert.deepEqual(idleOnly.split("\n").filter((l) => l.startsWith("#")), [
    "# Benchmark results",
    "## Machine",
    "## Targets",
    "## 3. Footprint",
  ]);
});

Deno.test("renderResults says why the real-peer benchmark did not run", () => {
  const md = renderResults({
    ...baseResults(),
    peers: { ran: false, reason: "tools/peers/setup.sh has not been run" },
  });
  const lines = md.split("\n");
  assert.deepEqual(lines.filter((l) => l.startsWith("#")), [
    "# Benchmark results",
    "## Machine",
    "## Targets",
    "## 4. On real peers",
  ]);
  assert.deepEqual(lines.slice(lines.indexOf("## 4. On real peers")), [
    "## 4. On real peers",
    "",
    "Not run: tools/peers/setup.sh has not been run.",
    "",
  ]);
});

Deno.test("renderResults gives the same text for the same results", () => {
  const first = renderResults(fullResults());
  assert.equal(renderResults(fullResults()), first);
  assert.equal(renderResults(structuredClone(fullResults())), first);
});

Deno.test("renderResults does not change the results it renders", () => {
  const results = fullResults();
  renderResults(results);
  assert.deepEqual(results, fullResults());
});

Deno.test("renderResults summarises the extended window over the handlers that had one", () => {
  const results: BenchResults = {
    ...baseResults(),
    idle: [
      idle(40, 0.1, { extended: { windowMs: 95_400, rss: 41 * MIB, cpuPercent: 0.12 } }),
      idle(42, 0.2),
    ],
  };
  const row = tableAfter(renderResults(results), "## 3. Footprint")[1];
  assert.equal(row[1], "41.0 MiB (40.0 MiB–42.0 MiB)");
  assert.equal(row[5], "41.0 MiB after 95 s (CPU 0.12 %)");
});

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

Deno.test("renderResults compares the three tools on real peers relative to ours", () => {
  const s = (toCordon: number, toDrained: number, toExit?: number) => ({
    toCordon,
    toDrained,
    toExit,
  });
  const results: BenchResults = {
    ...baseResults(),
    peers: {
      ran: true,
      versions: {
        KUBE: "v1.34.4",
        ETCD: "v3.6.16",
        KWOK: "v0.8.0",
        AEMM: "v1.13.0",
        NTH: "v1.25.1",
      },
      missing: {},
      cases: [{
        pods: 30,
        samples: {
          ours: [s(900, 2_000), s(1_100, 2_200), s(1_000, 2_100)],
          nth: [s(1_500, 8_400)],
          kubectl: [s(300, 6_300, 6_400)],
        },
      }],
      idle: [{ tool: "ours", rss: 50 * MIB, cpuPercent: 0.3 }, {
        tool: "nth",
        rss: 30 * MIB,
        cpuPercent: 0.1,
      }],
      idleWindowMs: 60_000,
    },
  };
  const md = renderResults(results);
  const rows = tableAfter(md, "## 4. On real peers");
  assert.deepEqual(rows[0], [
    "pods",
    "tool",
    "→ cordon",
    "→ drained",
    "→ exit",
    "drained, relative to ours",
  ]);
  assert.deepEqual(rows[1], [
    "30",
    "this handler",
    "1000 ms (900 ms–1100 ms)",
    "2100 ms (2000 ms–2200 ms)",
    "—",
    "1×",
  ]);
  assert.deepEqual(rows[2], [
    "30",
    "aws-node-termination-handler (IMDS mode)",
    "1500 ms",
    "8400 ms",
    "—",
    "4×",
  ]);
  assert.deepEqual(rows[3], ["30", "`kubectl drain`", "300 ms", "6300 ms", "6400 ms", "3×"]);
  assert.ok(md.includes("| aws-node-termination-handler (IMDS mode) | 30.0 MiB |"), md);
});

Deno.test("renderResults names a tool left out on real peers and why", () => {
  const results: BenchResults = {
    ...baseResults(),
    peers: {
      ran: true,
      versions: {},
      missing: { nth: "not built (tools/peers/setup.sh nth)" },
      cases: [{
        pods: 30,
        samples: { ours: [{ toCordon: 1, toDrained: 2 }], nth: [], kubectl: [] },
      }],
      idle: [],
      idleWindowMs: 60_000,
    },
  };
  const md = renderResults(results);
  assert.ok(
    md.includes(
      "aws-node-termination-handler (IMDS mode) left out: not built (tools/peers/setup.sh nth).",
    ),
  );
  const tools = tableAfter(md, "## 4. On real peers").slice(1).map((r) => r[1]);
  assert.deepEqual(tools, ["this handler", "`kubectl drain`"]);
});

Deno.test("parseBenchArgs takes a longer idle window in seconds for a leak check", () => {
  assert.equal(parseBenchArgs(["--idle-window", "600"])!.idleWindowMs, 600_000);
  assert.equal(parseBenchArgs(["--quick", "--idle-window", "30"])!.idleWindowMs, 30_000);
  assert.throws(() => parseBenchArgs(["--idle-window", "5"]), {
    name: "TypeError",
    message: '--idle-window: expected an integer of at least 10, got "5"',
  });
});

Deno.test("renderResults says when the idle window was not the usual minute", () => {
  const results: BenchResults = { ...baseResults(), idle: [idle(40, 0.1, { windowMs: 600_000 })] };
  const md = renderResults(results);
  assert.ok(md.includes(" **a 600 s window instead of 60 s.**"), md);
  assert.ok(!md.includes("--quick: a"));
});

// --- Soak ---

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

function soakSubject(kind: SoakSubject["kind"], peakMiB: number, slope: number): SoakSubject {
  return {
    kind,
    stats: {
      samples: 61,
      durationMs: 600_000,
      firstRss: 50 * MIB,
      lastRss: 52 * MIB,
      minRss: 49 * MIB,
      peakRss: peakMiB * MIB,
      slopeMiBPerHour: slope,
      cpuPercent: 0.21,
    },
    series: Array.from({ length: 61 }, (_, i) => (50 + (i % 10) / 10) * MIB),
  };
}

function soakResult(subjects: SoakSubject[], peersMissing?: string): SoakResult {
  return { minutes: 10, everyMs: 10_000, scrapeEveryMs: 15_000, subjects, peersMissing };
}

Deno.test("parseBenchArgs runs no soak by default; --soak sets its minutes and adds the section", () => {
  assert.equal(parseBenchArgs([])!.soakMinutes, undefined);
  assert.equal(parseBenchArgs([])!.only.has("soak"), false);
  const args = parseBenchArgs(["--only", "footprint", "--soak", "10", "--soak-every", "5"])!;
  assert.equal(args.soakMinutes, 10);
  assert.equal(args.soakEveryMs, 5_000);
  assert.deepEqual(args.only, new Set(["footprint", "soak"]));
});

Deno.test("parseBenchArgs --only soak soaks for 30 minutes", () => {
  const args = parseBenchArgs(["--only", "soak"])!;
  assert.equal(args.soakMinutes, 30);
  assert.equal(args.soakEveryMs, 10_000);
});

Deno.test("parseBenchArgs rejects a bad --soak or --soak-every with a TypeError naming the flag", () => {
  assert.throws(() => parseBenchArgs(["--soak", "0"]), {
    name: "TypeError",
    message: '--soak: expected an integer of at least 1, got "0"',
  });
  assert.throws(() => parseBenchArgs(["--soak-every", "x"]), {
    name: "TypeError",
    message: '--soak-every: expected an integer of at least 1, got "x"',
  });
});

Deno.test("renderResults tabulates every soaked process with its peak, slope and CPU", () => {
  const scraped = { ...soakSubject("ours-scraped", 56, 3.25), scrapes: { ok: 40, failed: 0 } };
  const results = {
    ...baseResults(),
    soak: soakResult([soakSubject("ours", 55, -1.04), scraped, soakSubject("nth", 44, 0.5)]),
  };
  const md = renderResults(results);
  assert.deepEqual(tableAfter(md, "## 5. Soak"), [
    ["process", "samples", "first", "min", "peak", "last", "slope", "CPU (share of a core)"],
    [
      "this handler, stand-in, not scraped",
      "61",
      "50.0 MiB",
      "49.0 MiB",
      "55.0 MiB",
      "52.0 MiB",
      "-1.0 MiB/h",
      "0.21 %",
    ],
    [
      "this handler, stand-in, `/metrics` scraped (40 scrapes)",
      "61",
      "50.0 MiB",
      "49.0 MiB",
      "56.0 MiB",
      "52.0 MiB",
      "3.3 MiB/h",
      "0.21 %",
    ],
    [
      "aws-node-termination-handler, real peers",
      "61",
      "50.0 MiB",
      "49.0 MiB",
      "44.0 MiB",
      "52.0 MiB",
      "0.5 MiB/h",
      "0.21 %",
    ],
  ]);
  // One RSS figure a minute (every sixth sample at 10 s) for ours and aws-node-termination-handler.
  const series = md.split("\n").filter((l) => l.startsWith("RSS each minute"));
  assert.equal(series.length, 2);
  assert.equal(series[0].split(": ")[1].split(", ").length, 11);
});

Deno.test("renderResults says why aws-node-termination-handler was left out of the soak", () => {
  const md = renderResults({
    ...baseResults(),
    soak: soakResult([soakSubject("ours", 55, 0)], "peers not built (missing kube-apiserver)"),
  });
  assert.ok(
    md.includes(
      "aws-node-termination-handler left out: peers not built (missing kube-apiserver).",
    ),
  );
});

Deno.test("verdicts judges the soak by the unscraped handler's peak and slope", () => {
  const flat = { ...baseResults(), soak: soakResult([soakSubject("ours", 47, 0.4)]) };
  assert.deepEqual(verdict(flat, /^soak/), {
    target: "soak (10 min, shipped flags): idle RSS",
    goal: "peak ≤ 48.0 MiB, flat (≤ 1 MiB/h)",
    measured: "peak 47.0 MiB, slope 0.4 MiB/h",
    met: true,
  });
  const growing = { ...baseResults(), soak: soakResult([soakSubject("ours", 47, 2)]) };
  assert.equal(verdict(growing, /^soak/).met, false);
  const high = {
    ...baseResults(),
    soak: soakResult([soakSubject("ours", 49, 0), soakSubject("ours-scraped", 40, 0)]),
  };
  assert.equal(verdict(high, /^soak/).met, false);
});

Deno.test("verdicts compares idle RSS with aws-node-termination-handler from the real-peer run", () => {
  const peers = (ours: number, nth: number): BenchResults["peers"] => ({
    ran: true,
    versions: {},
    missing: {},
    cases: [{
      pods: 110,
      samples: {
        ours: [{ toCordon: 650 }, { toCordon: 900 }, { toCordon: 600 }],
        nth: [],
        kubectl: [],
      },
    }],
    idle: [
      { tool: "ours", rss: ours * MIB, cpuPercent: 0.2 },
      { tool: "nth", rss: nth * MIB, cpuPercent: 0.05 },
    ],
    idleWindowMs: 60_000,
  });
  const below = { ...baseResults(), peers: peers(43, 44) };
  assert.deepEqual(verdict(below, /^real peers: idle/), {
    target: "real peers: idle RSS beside aws-node-termination-handler",
    goal: "≤ aws-node-termination-handler in the same run",
    measured: "43.0 MiB vs 44.0 MiB",
    met: true,
  });
  assert.equal(verdict({ ...baseResults(), peers: peers(45, 44) }, /^real peers: idle/).met, false);
  assert.deepEqual(verdict(below, /^real peers, 110 pods/), {
    target: "real peers, 110 pods: notice served → cordon",
    goal: "median ≤ 700 ms",
    measured: "median 650 ms, max 900 ms",
    met: true,
  });
});

Deno.test("parseResultsJson reads back what --json wrote, the same text rendered from it", () => {
  const results = { ...fullResults(), soak: soakResult([soakSubject("ours", 50, 0.2)]) };
  const back = parseResultsJson(JSON.stringify(results));
  assert.ok(back.machine.date instanceof Date);
  assert.equal(renderResults(back), renderResults(results));
});

Deno.test("parseResultsJson rejects JSON that is not bench results", () => {
  assert.throws(() => parseResultsJson("{}"), {
    name: "SyntaxError",
    message: "bench results JSON: no machine or settings",
  });
  const bad = JSON.stringify({ ...baseResults(), machine: { ...MACHINE, date: "yesterday" } });
  assert.throws(() => parseResultsJson(bad), {
    name: "SyntaxError",
    message: "bench results JSON: machine.date is not a date",
  });
});
