/**
 * A bounded poll for tests and harnesses: what a subprocess or a peer does is observed from
 * outside, so the only way to wait for it is to look again until a deadline.
 *
 * @module
 */

/** Resolve after `ms`; the pause between polls and between benchmark samples. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll `probe` until it returns something other than `undefined`/`false`, at most `timeoutMs`.
 * The error names what was awaited and, when given, the last state seen.
 *
 * @example
 * ```ts
 * const node = await waitFor("node cordoned", async () => {
 *   const n = await api.get<{ spec: { unschedulable?: boolean } }>("/api/v1/nodes/a");
 *   return n?.spec.unschedulable ? n : undefined;
 * }, { timeoutMs: 30_000 });
 * ```
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => string },
): Promise<T> {
  const end = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= end) break;
    await sleep(options.intervalMs ?? 200);
  }
  const detail = options.describe?.() ??
    (lastError instanceof Error ? `last error: ${lastError.message}` : "");
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}. ${detail}`.trim());
}
