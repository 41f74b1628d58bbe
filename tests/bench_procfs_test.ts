/** bench/procfs.ts and bench/machine.ts: what the benchmarks read from /proc and `ps`. */
import assert from "node:assert/strict";
import { cpuPercent, parseCpuTicks, parseStatus, pidsMatching } from "../bench/procfs.ts";
import { parseCpuModel, parseMemTotal } from "../bench/machine.ts";

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
