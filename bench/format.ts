/**
 * Formatting of benchmark figures for bench/RESULTS.md and the console: durations, sizes,
 * "median (min–max)" cells and Markdown tables.
 *
 * @module
 */

import type { Summary } from "./stats.ts";

/**
 * A duration: whole milliseconds below 10 s, seconds with one decimal above.
 *
 * @example
 * ```ts
 * formatMs(812.4); // "812 ms"
 * formatMs(20_569); // "20.6 s"
 * ```
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatMs: not a finite duration: ${ms}`);
  return Math.abs(ms) < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A size in MiB with one decimal.
 *
 * @example
 * ```ts
 * formatMiB(51_380 * 1024); // "50.2 MiB"
 * ```
 */
export function formatMiB(bytes: number): string {
  if (!Number.isFinite(bytes)) throw new RangeError(`formatMiB: not a finite size: ${bytes}`);
  return `${(bytes / 1_048_576).toFixed(1)} MiB`;
}

/**
 * A median with its range, e.g. `812 ms (790–840)`; just the value when all runs agree or there
 * was one run. `unit` formats each number.
 *
 * @example
 * ```ts
 * formatSummary({ n: 3, median: 812, min: 790, max: 840 }, formatMs); // "812 ms (790 ms–840 ms)"
 * ```
 */
export function formatSummary(
  summary: Summary | undefined,
  unit: (value: number) => string,
): string {
  if (!summary) return "—";
  const median = unit(summary.median);
  if (summary.n === 1) return median;
  const min = unit(summary.min);
  const max = unit(summary.max);
  return min === max ? median : `${median} (${min}–${max})`;
}

/**
 * `a / b` as `0.05×`, with two significant digits; `—` when either is missing or `b` is 0.
 *
 * @example
 * ```ts
 * formatRatio(1_100, 20_600); // "0.053×"
 * ```
 */
export function formatRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return "—";
  return `${Number((a / b).toPrecision(2))}×`;
}

/** Column alignment of {@linkcode markdownTable}. */
export type Align = "left" | "right";

/**
 * A GitHub Markdown table, columns padded so the source is readable too. A `|` inside a cell is
 * escaped; a row with the wrong number of cells is a programming error and throws.
 *
 * @example
 * ```ts
 * markdownTable(["pods", "time"], [["30", "0.4 s"]], { align: ["right", "right"] });
 * // "| pods |  time |\n| ---: | ----: |\n|   30 | 0.4 s |"
 * ```
 */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: { align?: readonly Align[] } = {},
): string {
  if (headers.length === 0) throw new RangeError("markdownTable: no columns");
  const escape = (cell: string) => cell.replaceAll("|", "\\|").replaceAll("\n", " ");
  const body = rows.map((row, i) => {
    if (row.length !== headers.length) {
      throw new RangeError(
        `markdownTable: row ${i} has ${row.length} cells, expected ${headers.length}`,
      );
    }
    return row.map(escape);
  });
  const head = headers.map(escape);
  const widths = head.map((h, c) => Math.max(3, h.length, ...body.map((r) => r[c].length)));
  const align = (c: number) => options.align?.[c] ?? "left";
  const pad = (cell: string, c: number) =>
    align(c) === "right" ? cell.padStart(widths[c]) : cell.padEnd(widths[c]);
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = widths.map((w, c) => align(c) === "right" ? `${"-".repeat(w - 1)}:` : "-".repeat(w));
  return [line(head), `| ${rule.join(" | ")} |`, ...body.map(line)].join("\n");
}
