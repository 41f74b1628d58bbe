/**
 * Retrying an API call until a deadline. A notice gives the handler about two minutes; a call
 * that fails once (API server restarting, throttled) must be tried again inside that window, and
 * never after it. The primitives live in `_async.ts`; this module keeps the names its importers
 * use.
 *
 * @module
 */

export {
  type RetryOptions,
  retryUntil,
  type Sleep,
  sleep as realSleep,
  withTimeout,
} from "./_async.ts";
