/** bench/run.ts: the command line of `deno task bench` and the results read back from `--json`. */
import assert from "node:assert/strict";
import { parseBenchArgs, parseResultsJson } from "../bench/run.ts";
import { baseResults, MACHINE, SCENARIOS } from "./fixtures/bench/results.ts";

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

Deno.test("parseBenchArgs takes a longer idle window in seconds for a leak check", () => {
  assert.equal(parseBenchArgs(["--idle-window", "600"])!.idleWindowMs, 600_000);
  assert.equal(parseBenchArgs(["--quick", "--idle-window", "30"])!.idleWindowMs, 30_000);
  assert.throws(() => parseBenchArgs(["--idle-window", "5"]), {
    name: "TypeError",
    message: '--idle-window: expected an integer of at least 10, got "5"',
  });
});

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

Deno.test("parseResultsJson reads back what --json wrote, the machine's date a Date again", () => {
  const results = SCENARIOS.full();
  const back = parseResultsJson(JSON.stringify(results));
  assert.ok(back.machine.date instanceof Date);
  assert.equal(back.machine.date.getTime(), results.machine.date.getTime());
  assert.equal(JSON.stringify(back), JSON.stringify(results));
});

Deno.test("parseResultsJson rejects JSON that is not bench results", () => {
  for (const text of ["{}", "null", '{"machine":{}}']) {
    assert.throws(() => parseResultsJson(text), {
      name: "SyntaxError",
      message: "bench results JSON: no machine or settings",
    });
  }
  assert.throws(() => parseResultsJson("{"), SyntaxError);
  const bad = JSON.stringify({ ...baseResults(), machine: { ...MACHINE, date: "yesterday" } });
  assert.throws(() => parseResultsJson(bad), {
    name: "SyntaxError",
    message: "bench results JSON: machine.date is not a date",
  });
});
