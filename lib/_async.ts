/**
 * The async primitives the rest of `lib/` shares, written once: an abortable sleep, a timeout
 * combined with a caller's signal, a promise cached until it fails, and a retry with a
 * retryable predicate. Private to this repository (the `_` prefix, as in std's
 * `async/_util.ts`); every clock is `() => Date`.
 *
 * @module
 */

/** The current time; injected so tests run on a fake clock. */
export type Clock = () => Date;

/** Sleep that returns early when the signal aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * An abortable `setTimeout` sleep; resolves (does not reject) on abort.
 *
 * @example
 * ```ts
 * import { sleep } from "./_async.ts";
 *
 * await sleep(1_000, AbortSignal.timeout(10)); // back after 10 ms
 * ```
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });

/**
 * Wait `ms` with an injected sleep, ended by the signal whatever that sleep does: a fake that
 * ignores the signal, or one that rejects on abort, still returns (resolved) once it aborts.
 *
 * @example
 * ```ts
 * import { pause, sleep } from "./_async.ts";
 *
 * await pause(sleep, 1_000, AbortSignal.abort()); // returns at once
 * ```
 */
export async function pause(sleeper: Sleep, ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return await sleeper(ms);
  if (signal.aborted) return;
  let onAbort = () => {};
  const aborted = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([sleeper(ms, signal), aborted]);
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/** A signal ended by a timeout or by the caller's signal; see {@linkcode timeoutSignal}. */
export interface TimeoutSignal {
  /** Aborts after the timeout or when the caller's signal aborts, whichever comes first. */
  signal: AbortSignal;
  /** True when the timeout (not the caller) aborted {@linkcode TimeoutSignal.signal}. */
  timedOut(): boolean;
  /** Stop the timer and stop listening to the caller's signal; call it when the work is done. */
  clear(): void;
}

/**
 * One signal for one bounded operation: aborted `ms` after the call or when `signal` aborts.
 * Not `AbortSignal.any`: every signal it makes stays reachable from the caller's long-lived one
 * until V8's next full collection (200,000 of them held 30 MB in a micro-benchmark), and the
 * poll loop runs for the life of the node. Here the listener is removed by `clear()`.
 *
 * @example
 * ```ts
 * import { timeoutSignal } from "./_async.ts";
 *
 * const cut = timeoutSignal(2_000);
 * try {
 *   await fetch("http://127.0.0.1:1/", { signal: cut.signal });
 * } catch (error) {
 *   if (cut.timedOut()) console.log("no answer within 2 s");
 *   else console.log(error);
 * } finally {
 *   cut.clear();
 * }
 * ```
 */
export function timeoutSignal(ms: number, signal?: AbortSignal): TimeoutSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  const forward = () => controller.abort();
  if (signal?.aborted) forward();
  else signal?.addEventListener("abort", forward, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    clear() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", forward);
    },
  };
}

/**
 * `promise`, or a rejection with `why()` once `signal` aborts, whichever settles first. The
 * promise itself goes on; only the wait for it is cut short.
 *
 * @example
 * ```ts
 * import { raceAbort } from "./_async.ts";
 *
 * const never = new Promise<never>(() => {});
 * await raceAbort(never, AbortSignal.abort(), () => new Error("gave up")).catch(console.log);
 * ```
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  why: () => unknown,
): Promise<T> {
  if (signal.aborted) return Promise.reject(why());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(why());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * `promise`, or a rejection with a `TimeoutError` after `ms`. The promise itself goes on (its
 * own request timeout bounds it); only the wait for it is cut short.
 *
 * @example
 * ```ts
 * import { withTimeout } from "./_async.ts";
 *
 * const slow = new Promise<string>((resolve) => setTimeout(() => resolve("late"), 50));
 * const name = await withTimeout(slow, 10).catch(() => undefined); // undefined
 * ```
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  const cut = timeoutSignal(ms);
  return raceAbort(
    promise,
    cut.signal,
    () => new DOMException(`no answer within ${ms} ms`, "TimeoutError"),
  ).finally(cut.clear);
}

/**
 * A promise made once and shared by every caller; forgotten when it rejects, so the next call
 * tries again rather than getting the old failure forever.
 *
 * @example
 * ```ts
 * import { cached } from "./_async.ts";
 *
 * const client = cached(() => import("node:os"));
 * const [a, b] = await Promise.all([client(), client()]); // one import
 * ```
 */
export function cached<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => {
    if (promise) return promise;
    const made = make();
    promise = made;
    made.catch(() => {
      if (promise === made) promise = undefined;
    });
    return made;
  };
}

/** Options of {@linkcode retryUntil}. */
export interface RetryOptions {
  deadline: Date;
  now?: Clock;
  sleep?: Sleep;
  signal?: AbortSignal;
  /** First delay; doubles per attempt up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** The wait after failed attempt `attempt` (from 1); replaces the doubling above. */
  delayMs?: (attempt: number) => number;
  /**
   * Called after each failed attempt, e.g. to log it; `willRetry` is false when this error is
   * the one thrown.
   */
  onError?: (error: unknown, attempt: number, willRetry: boolean) => void;
  /** Return false for errors that no retry can fix (403, 400). */
  retryable?: (error: unknown) => boolean;
}

/**
 * Run `fn` until it succeeds, the deadline passes or the signal aborts; then rethrow the last
 * error. The first attempt always runs, even past the deadline; no wait runs past it.
 *
 * @example
 * ```ts
 * import { retryUntil } from "./_async.ts";
 *
 * let calls = 0;
 * const flaky = () => ++calls < 3 ? Promise.reject(new Error("busy")) : Promise.resolve(calls);
 * await retryUntil(flaky, { deadline: new Date(Date.now() + 5_000), initialDelayMs: 1 }); // 3
 * ```
 */
export async function retryUntil<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? (() => new Date());
  const sleeper = options.sleep ?? sleep;
  const max = options.maxDelayMs ?? 4000;
  let doubling = options.initialDelayMs ?? 250;
  const delayMs = options.delayMs ?? (() => {
    const delay = doubling;
    doubling = Math.min(doubling * 2, max);
    return delay;
  });
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const left = options.deadline.getTime() - now().getTime();
      const giveUp = options.signal?.aborted || left <= 0 ||
        (options.retryable !== undefined && !options.retryable(error));
      options.onError?.(error, attempt, !giveUp);
      if (giveUp) throw error;
      await pause(sleeper, Math.min(delayMs(attempt), left), options.signal);
    }
  }
}
