/**
 * A slowloris client for soak tests of the health listener: holds many connections open,
 * half of them silent ("idle") and half sending a request head one byte at a time ("slow"),
 * and reconnects each one the server closes, up to a bound on connections in total. Loopback
 * targets only.
 *
 * @module
 */

/** Options of {@linkcode startSlowloris}. */
export interface SlowlorisOptions {
  hostname: "127.0.0.1" | "::1";
  port: number;
  /** Connections that connect and send nothing. */
  idle: number;
  /** Connections that dribble a never-ending request head. */
  slow: number;
  /** Between two bytes of a slow connection; default 500 ms. */
  intervalMs?: number;
  /** Connections opened in total, reconnects included; default 2 × (idle + slow). */
  maxTotal?: number;
}

/** Counters of a running attack. */
export interface SlowlorisStats {
  /** Connections opened so far. */
  opened: number;
  /** Open right now. */
  open: number;
  /** Closed by the server (or reset). */
  closedByServer: number;
  /** Connection attempts that failed. */
  connectErrors: number;
}

/** A running attack. */
export interface Slowloris {
  readonly stats: SlowlorisStats;
  /** Resolves once `opened` reaches `count` (or the total bound is reached). */
  opened(count: number): Promise<void>;
  /** Close every connection and stop reconnecting. */
  stop(): Promise<void>;
}

/**
 * Start the attack.
 *
 * @example
 * ```ts
 * const attack = startSlowloris({ hostname: "127.0.0.1", port, idle: 1000, slow: 1000 });
 * await attack.opened(2000);
 * await attack.stop();
 * ```
 */
export function startSlowloris(options: SlowlorisOptions): Slowloris {
  if (options.hostname !== "127.0.0.1" && options.hostname !== "::1") {
    throw new TypeError("slowloris: loopback targets only");
  }
  const intervalMs = options.intervalMs ?? 500;
  const maxTotal = options.maxTotal ?? 2 * (options.idle + options.slow);
  const stats: SlowlorisStats = { opened: 0, open: 0, closedByServer: 0, connectErrors: 0 };
  const conns = new Set<Deno.Conn>();
  const waiters = new Set<() => void>();
  let stopped = false;
  let attempts = 0;
  // Ends connection attempts still pending at stop() (a full accept queue delays them).
  const stopping = new AbortController();
  const head = new TextEncoder().encode(
    "GET /healthz HTTP/1.1\r\nhost: x\r\n" + "x-slow: ".padEnd(1 << 16, "a"),
  );

  async function one(slow: boolean): Promise<void> {
    while (!stopped && attempts < maxTotal) {
      attempts++;
      let conn: Deno.Conn;
      try {
        conn = await Deno.connect({
          hostname: options.hostname,
          port: options.port,
          signal: stopping.signal,
        });
      } catch {
        if (stopped) break;
        stats.connectErrors++;
        // A refused connection is retried; the bound on the total still ends the loop.
        stats.opened++;
        for (const w of waiters) w();
        continue;
      }
      stats.opened++;
      stats.open++;
      conns.add(conn);
      for (const w of waiters) w();
      let timer: ReturnType<typeof setInterval> | undefined;
      if (slow) {
        let offset = 0;
        timer = setInterval(() => {
          conn.write(head.subarray(offset, offset + 1)).catch(() => {});
          offset = (offset + 1) % head.byteLength;
        }, intervalMs);
      }
      try {
        // Wait for the server to close it; anything it sends is read and dropped.
        const buf = new Uint8Array(1024);
        while ((await conn.read(buf)) !== null);
      } catch {
        // Reset, or closed by stop().
      }
      clearInterval(timer);
      conns.delete(conn);
      stats.open--;
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      if (!stopped) stats.closedByServer++;
    }
  }

  const all = Promise.all([
    ...Array.from({ length: options.idle }, () => one(false)),
    ...Array.from({ length: options.slow }, () => one(true)),
  ]);

  return {
    stats,
    opened(count) {
      return new Promise((resolve) => {
        const check = () => {
          if (stats.opened >= Math.min(count, maxTotal)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      stopped = true;
      stopping.abort();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      await all;
    },
  };
}
