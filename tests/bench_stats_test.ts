/** bench/stats.ts and bench/format.ts: the statistics of the samples and the figures' formats. */
import assert from "node:assert/strict";
import { maybeSummarize, summarize } from "../bench/stats.ts";
import { formatMiB, formatMs, formatRatio, formatSummary, markdownTable } from "../bench/format.ts";
import { MIB } from "./fixtures/bench/results.ts";

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
