/**
 * Retrying an API call until a deadline. A notice gives the handler about two minutes; a call
 * that fails once (API server restarting, throttled) must be tried again inside that window, and
 * never after it.
 *
 * @module
 */

/** Sleep that returns early when the signal aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** An abortable `setTimeout` sleep; resolves (does not reject) on abort. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Options of {@linkcode retryUntil}. */
export interface RetryOptions {
  deadline: Date;
  now?: () => Date;
  sleep?: Sleep;
  signal?: AbortSignal;
  /** First delay; doubles per attempt up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Called after each failed attempt, e.g. to log it. */
  onError?: (error: unknown, attempt: number) => void;
  /** Return false for errors that no retry can fix (403, 400). */
  retryable?: (error: unknown) => boolean;
}

/**
 * Run `fn` until it succeeds, the deadline passes or the signal aborts; then rethrow the last
 * error. The first attempt always runs, even past the deadline.
 *
 * @example
 * ```ts
 * await retryUntil(() => kube.patchNode(node, { unschedulable: true }), { deadline });
 * ```
 */
export async function retryUntil<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? realSleep;
  let delay = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 4000;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      options.onError?.(error, attempt);
      const left = options.deadline.getTime() - now().getTime();
      const giveUp = options.signal?.aborted || left <= 0 ||
        (options.retryable && !options.retryable(error));
      if (giveUp) throw error;
      await sleep(Math.min(delay, left), options.signal);
      delay = Math.min(delay * 2, max);
    }
  }
}

/**
 * `promise`, or a rejection with a `TimeoutError` after `ms`. The promise itself goes on (its
 * own request timeout bounds it); only the wait for it is cut short.
 *
 * @example
 * ```ts
 * const node = await withTimeout(kube.getNode(name), 1_000).catch(() => undefined);
 * ```
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DOMException(`no answer within ${ms} ms`, "TimeoutError")),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
