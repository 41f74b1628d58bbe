/**
 * The accept side of the health listener: at most `maxConnections` are open at once (when full,
 * the connection that has waited longest for its request is dropped for the new one, so a
 * slowloris client cannot lock out the kubelet's probes), and accept errors such as "Too many open
 * files" are logged and retried instead of ending the process.
 *
 * @module
 */

import { sleep } from "./_async.ts";
import type { Logger } from "./log.ts";
import { closeConn, type Connection, type Connections, serve } from "./server_connection.ts";

/** At most 500 connections a second take the place of older ones when the cap is reached. */
const ADMIT_INTERVAL_MS = 2;
/** First pause after an accept error; doubles per error up to the cap. */
const ACCEPT_BACKOFF_MS = 50;
const ACCEPT_BACKOFF_CAP_MS = 1000;
/** One log line at most this often while accept keeps failing. */
const ACCEPT_REPORT_MS = 60_000;

/** Make room for `conn` (dropping the longest-waiting connection when full) and serve it. */
function admit(state: Connections, conn: Deno.Conn): void {
  const { open } = state;
  if (open.size >= state.limits.maxConnections) {
    let oldest: Connection | undefined;
    for (const c of open) {
      if (c.waiting) {
        oldest = c;
        break;
      }
    }
    if (!oldest) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      return;
    }
    closeConn(oldest);
    open.delete(oldest);
  }
  const c: Connection = { conn, waiting: true, done: Promise.resolve() };
  open.add(c);
  c.done = serve(state, c);
}

/**
 * Accept connections until the listener closes. Accept errors (EMFILE when the process runs out
 * of descriptors, ECONNABORTED...) must never end the process: log the first and then one line a
 * minute, back off, and keep accepting.
 */
export async function acceptLoop(
  state: Connections,
  listener: Deno.Listener,
  logger: Logger,
): Promise<void> {
  let acceptErrors = 0;
  let lastReport = 0;
  let backoff = ACCEPT_BACKOFF_MS;
  while (!state.closing) {
    if (state.open.size >= state.limits.maxConnections) {
      // Full: each new connection now costs an older one. Pacing these admissions bounds the
      // CPU a connection flood can take from the poll loop and the drain; connections wait
      // in the kernel's accept queue meanwhile, so a probe still gets in within about a
      // second.
      await sleep(ADMIT_INTERVAL_MS);
      if (state.closing) break;
    }
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (state.closing || error instanceof Deno.errors.BadResource) break;
      acceptErrors++;
      const now = Date.now();
      if (now - lastReport >= ACCEPT_REPORT_MS) {
        logger.warn("health server cannot accept connections; retrying", {
          error: error instanceof Error ? error.message : String(error),
          errors: acceptErrors,
        });
        lastReport = now;
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, ACCEPT_BACKOFF_CAP_MS);
      continue;
    }
    backoff = ACCEPT_BACKOFF_MS;
    admit(state, conn);
  }
}
