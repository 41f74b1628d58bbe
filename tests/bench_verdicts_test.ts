/**
 * bench/report.ts `verdicts`: which figure decides each target and when it is met. How the
 * verdicts read in bench/RESULTS.md is held in the golden files (tests/bench_report_test.ts).
 */
import assert from "node:assert/strict";
import { type BenchResults, TARGETS, type Verdict, verdicts } from "../bench/report.ts";
import type { PeerResult } from "../bench/peers.ts";
import {
  baseResults,
  detection,
  drainCase,
  idle,
  MIB,
  ours,
  peer,
  soakResult,
  soakSubject,
  theirs,
} from "./fixtures/bench/results.ts";

function verdict(results: BenchResults, target: RegExp): Verdict {
  const found = verdicts(results).filter((v) => target.test(v.target));
  assert.equal(found.length, 1, `one verdict for ${target}`);
  return found[0];
}

/** What was measured and whether it met the target. */
function judged(results: BenchResults, target: RegExp): [string, boolean | undefined] {
  const v = verdict(results, target);
  return [v.measured, v.met];
}

Deno.test("verdicts reports every target as not run and not judged when nothing ran", () => {
  const all = verdicts(baseResults());
  assert.equal(all.length, 9);
  for (const v of all) {
    assert.equal(v.measured, "not run", v.target);
    assert.equal(v.met, undefined, v.target);
  }
  assert.equal(new Set(all.map((v) => v.target)).size, all.length, "one verdict per target");
});

Deno.test("verdicts judges idle RSS by the median over the idle handlers, not the worst one", () => {
  const met = { ...baseResults(), idle: [idle(40, 0.1), idle(60, 0.2), idle(47, 0.3)] };
  assert.deepEqual(judged(met, /^idle RSS/), ["median 47.0 MiB, max 60.0 MiB", true]);
  const missed = { ...baseResults(), idle: [idle(47, 0.1), idle(49, 0.1), idle(50, 0.1)] };
  assert.deepEqual(judged(missed, /^idle RSS/), ["median 49.0 MiB, max 50.0 MiB", false]);
});

Deno.test("verdicts takes the median of an even number of idle handlers as the mean of the middle two", () => {
  const met = { ...baseResults(), idle: [idle(46, 0.1), idle(50, 0.1)] };
  assert.deepEqual(judged(met, /^idle RSS/), ["median 48.0 MiB, max 50.0 MiB", true]);
  const missed = { ...baseResults(), idle: [idle(46, 0.1), idle(50.2, 0.1)] };
  assert.equal(verdict(missed, /^idle RSS/).met, false);
});

Deno.test("verdicts names the idle window of the handlers measured", () => {
  const results = { ...baseResults(), idle: [idle(40, 0.1, { windowMs: 10_000 })] };
  assert.equal(verdict(results, /^idle RSS/).target, "idle RSS after 10 s of polling");
});

Deno.test("verdicts judges idle CPU by the median over the idle handlers", () => {
  const met = { ...baseResults(), idle: [idle(40, 0.05), idle(40, 0.9), idle(40, 0.1)] };
  assert.deepEqual(judged(met, /^idle CPU/), ["median 0.10 %, max 0.90 %", true]);
  const missed = { ...baseResults(), idle: [idle(40, 0.08), idle(40, 0.12), idle(40, 0.7)] };
  assert.deepEqual(judged(missed, /^idle CPU/), ["median 0.12 %, max 0.70 %", false]);
});

Deno.test("verdicts leaves the idle targets unmeasured for an empty idle list", () => {
  const results = { ...baseResults(), idle: [] };
  assert.deepEqual(judged(results, /^idle RSS/), ["not run", undefined]);
  assert.deepEqual(judged(results, /^idle CPU/), ["not run", undefined]);
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
  assert.deepEqual(judged(met, /^notice served → cordon/), ["max 2000 ms, median 1900 ms", true]);
  const missed = {
    ...baseResults(),
    detection: {
      cold: [detection(900), detection(2_001), detection(1_000)],
      warm: [detection(500)],
      pods: 30,
    },
  };
  assert.deepEqual(judged(missed, /^notice served → cordon/), [
    "max 2001 ms, median 1000 ms",
    false,
  ]);
});

Deno.test("verdicts does not judge detection from warm runs alone", () => {
  const results = {
    ...baseResults(),
    detection: { cold: [], warm: [detection(500)], pods: 30 },
  };
  assert.deepEqual(judged(results, /^notice served → cordon/), ["not run", undefined]);
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
  assert.deepEqual(judged(met, /every eviction issued/), ["median 1400 ms, max 1600 ms", true]);
  const missed = {
    ...baseResults(),
    drain: [drainCase(110, 5, [ours(1_400), ours(1_600), ours(1_700)], [])],
  };
  assert.equal(verdict(missed, /every eviction issued/).met, false);
});

Deno.test("verdicts leaves every eviction issued unmeasured without a 110-pod 5 ms run", () => {
  const absent = { ...baseResults(), drain: [drainCase(30, 5, [ours(500)], [])] };
  assert.deepEqual(judged(absent, /every eviction issued/), ["not run", undefined]);
  const empty = { ...baseResults(), drain: [drainCase(110, 5, [], [])] };
  assert.deepEqual(judged(empty, /every eviction issued/), ["not run", undefined]);
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
  assert.deepEqual(judged(met, /kubectl/), ["worst ratio 0.25×", true]);
  const missed = {
    ...baseResults(),
    drain: [
      drainCase(30, 5, [ours(500, 2_000)], [theirs(10_000, 20_000)]),
      // issued 1100 / 1000 = 1.1, though done is far quicker.
      drainCase(110, 50, [ours(1_100, 2_000)], [theirs(1_000, 30_000)]),
    ],
  };
  assert.deepEqual(judged(missed, /kubectl/), ["worst ratio 1.1×", false]);
});

Deno.test("verdicts leaves the kubectl comparison unmeasured when kubectl did not run", () => {
  const results = { ...baseResults(), drain: [drainCase(110, 5, [ours(900)], [])] };
  const v = verdict(results, /kubectl/);
  assert.equal(v.target, "drain no slower than kubectl drain");
  assert.deepEqual([v.measured, v.met], ["not run", undefined]);
});

Deno.test("verdicts judges peak RSS by the worst run of the largest drain at any latency", () => {
  const peak = (allIssued: number, peakMiB: number) => ({
    ...ours(allIssued),
    peakRss: peakMiB * MIB,
  });
  const results = {
    ...baseResults(),
    drain: [
      // The smaller drain is over the target but does not count.
      drainCase(30, 5, [peak(300, 400)], []),
      drainCase(110, 5, [peak(900, 80), peak(900, 90)], []),
      drainCase(110, 50, [peak(2_000, 120)], []),
    ],
  };
  const v = verdict(results, /^peak RSS/);
  assert.equal(v.target, "peak RSS over a 110-pod drain");
  assert.deepEqual([v.measured, v.met], ["max 120.0 MiB, median 90.0 MiB", true]);
  const over = TARGETS.drainPeakBytes / MIB + 0.1;
  results.drain.push(drainCase(110, 50, [peak(2_000, over)], []));
  assert.equal(verdict(results, /^peak RSS/).met, false);
});

Deno.test("verdicts judges the soak by the unscraped handler's peak and slope", () => {
  const flat = { ...baseResults(), soak: soakResult([soakSubject("ours", 47, 0.4)]) };
  const v = verdict(flat, /^soak/);
  assert.equal(v.target, "soak (10 min, shipped flags): idle RSS");
  assert.deepEqual([v.measured, v.met], ["peak 47.0 MiB, slope 0.4 MiB/h", true]);
  const growing = { ...baseResults(), soak: soakResult([soakSubject("ours", 47, 2)]) };
  assert.equal(verdict(growing, /^soak/).met, false);
  const high = {
    ...baseResults(),
    soak: soakResult([soakSubject("ours", 49, 0), soakSubject("ours-scraped", 40, 0)]),
  };
  assert.equal(verdict(high, /^soak/).met, false);
  const otherOnly = { ...baseResults(), soak: soakResult([soakSubject("ours-scraped", 40, 0)]) };
  assert.deepEqual(judged(otherOnly, /^soak/), ["not run", undefined]);
});

Deno.test("verdicts compares idle RSS with aws-node-termination-handler from the real-peer run", () => {
  const peers = (oursMiB: number, nthMiB: number): PeerResult => ({
    ran: true,
    versions: {},
    missing: {},
    cases: [{
      pods: 110,
      samples: { ours: [peer(650, 1), peer(900, 1), peer(600, 1)], nth: [], kubectl: [] },
    }],
    idle: [
      { tool: "ours", rss: oursMiB * MIB, cpuPercent: 0.2 },
      { tool: "nth", rss: nthMiB * MIB, cpuPercent: 0.05 },
    ],
    idleWindowMs: 60_000,
  });
  const below = { ...baseResults(), peers: peers(43, 44) };
  assert.deepEqual(judged(below, /^real peers: idle/), ["43.0 MiB vs 44.0 MiB", true]);
  assert.equal(verdict({ ...baseResults(), peers: peers(45, 44) }, /^real peers: idle/).met, false);
  assert.deepEqual(judged(below, /^real peers, 110 pods/), ["median 650 ms, max 900 ms", true]);
  const notRun = { ...baseResults(), peers: { ran: false as const, reason: "not set up" } };
  assert.deepEqual(judged(notRun, /^real peers: idle/), ["not run", undefined]);
  assert.deepEqual(judged(notRun, /^real peers, 110 pods/), ["not run", undefined]);
});
