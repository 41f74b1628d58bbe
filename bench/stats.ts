/**
 * Summary statistics for benchmark samples: a benchmark reports the median of several runs
 * with the smallest and largest, never a mean, so one slow run (a GC pause, a neighbour on the
 * shared machine) shows up as a wide range instead of shifting the headline figure.
 *
 * @module
 */

/** Median, extremes and count of a set of samples. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
}

/**
 * Summarise samples. Throws a RangeError on an empty list or a non-finite sample, since either
 * means a benchmark measured nothing and must not be reported as a number.
 *
 * @example
 * ```ts
 * summarize([812, 790, 840]); // { n: 3, median: 812, min: 790, max: 840 }
 * ```
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("summarize: no samples");
  const bad = samples.find((s) => !Number.isFinite(s));
  if (bad !== undefined) throw new RangeError(`summarize: sample is not a finite number: ${bad}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { n: sorted.length, median, min: sorted[0], max: sorted[sorted.length - 1] };
}

/**
 * Summarise the samples that exist, or return undefined when there are none (a step a tool never
 * reached, e.g. kubectl that failed before evicting).
 *
 * @example
 * ```ts
 * maybeSummarize([undefined, 5, 7]); // { n: 2, median: 6, min: 5, max: 7 }
 * maybeSummarize([undefined]); // undefined
 * ```
 */
export function maybeSummarize(samples: readonly (number | undefined)[]): Summary | undefined {
  const present = samples.filter((s): s is number => s !== undefined);
  return present.length === 0 ? undefined : summarize(present);
}
