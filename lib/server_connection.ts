/**
 * One connection of the health listener, from its first byte to its close: every connection has
 * a deadline for its request head, an idle deadline between requests and a write deadline, and
 * its head is capped in bytes, so a client that is slow on purpose holds a slot for seconds, not
 * for ever. Requests may be kept alive and pipelined.
 *
 * @module
 */

import type { Logger } from "./log.ts";
import { type Head, indexOfHeadEnd, parseHead, plain, serialize } from "./server_http.ts";

/** One accepted connection. */
export interface Connection {
  conn: Deno.Conn;
  /** Waiting for (the rest of) a request: the client holds it, so it may be dropped. */
  waiting: boolean;
  done: Promise<void>;
}

/** The deadlines and caps every connection is held to. */
export interface ConnectionLimits {
  /** Open connections at most. */
  maxConnections: number;
  /** The request head must arrive within this. */
  headerTimeoutMs: number;
  /** A kept-alive connection may wait this long for its next request. */
  idleTimeoutMs: number;
  /** Writing one response may take this long. */
  writeTimeoutMs: number;
  /** Bytes of request line and headers at most. */
  maxHeaderBytes: number;
}

/** What the listener's connections share. */
export interface Connections {
  limits: ConnectionLimits;
  logger: Logger;
  /** Answers one request (the routes). */
  answer: (request: Request) => Response;
  /** Insertion order is age order: the first waiting entry is the longest waiting one. */
  open: Set<Connection>;
  /** Read buffers of the small size, kept for later connections. */
  spare: Uint8Array[];
  /** The size a read buffer starts at. */
  smallBuffer: number;
  /** Set once the listener closes: no connection starts another request. */
  closing: boolean;
}

/**
 * The shared state of a listener's connections, none open yet.
 *
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * const limits = {
 *   maxConnections: 64,
 *   headerTimeoutMs: 5000,
 *   idleTimeoutMs: 10_000,
 *   writeTimeoutMs: 5000,
 *   maxHeaderBytes: 8192,
 * };
 *
 * const connections = createConnections(limits, createLogger(), () => new Response("ok\n"));
 * ```
 */
export function createConnections(
  limits: ConnectionLimits,
  logger: Logger,
  answer: (request: Request) => Response,
): Connections {
  return {
    limits,
    logger,
    answer,
    open: new Set(),
    spare: [],
    smallBuffer: Math.min(1024, limits.maxHeaderBytes + 4),
    closing: false,
  };
}

/** Close a connection that may already be closed. */
export function closeConn(c: Connection): void {
  try {
    c.conn.close();
  } catch {
    // Already closed.
  }
}

/** Run `work`; if it has not settled after `ms`, close the connection (which ends it). */
async function within<T>(c: Connection, ms: number, work: Promise<T>): Promise<T> {
  const timer = setTimeout(() => closeConn(c), ms);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

async function writeAll(c: Connection, bytes: Uint8Array) {
  let offset = 0;
  while (offset < bytes.byteLength) offset += await c.conn.write(bytes.subarray(offset));
}

/** Bytes received on a connection and not answered yet. */
interface Received {
  buf: Uint8Array;
  filled: number;
  /** No request has been read yet. */
  first: boolean;
}

/**
 * Read until a whole head is buffered: the idle deadline runs until the first byte, the header
 * deadline until the end of the head. Returns where the head ends, or `undefined` when the
 * connection is to close: a deadline passed, the client closed, or the head was too large (then
 * after answering 431).
 */
async function readHead(
  state: Connections,
  c: Connection,
  r: Received,
): Promise<number | undefined> {
  const { headerTimeoutMs, idleTimeoutMs, writeTimeoutMs, maxHeaderBytes } = state.limits;
  c.waiting = true;
  let end = indexOfHeadEnd(r.buf, r.filled);
  let deadline = Date.now() + (r.first || r.filled > 0 ? headerTimeoutMs : idleTimeoutMs);
  while (end < 0) {
    if (r.filled >= r.buf.byteLength && r.buf.byteLength < maxHeaderBytes + 4) {
      const grown = new Uint8Array(Math.min(r.buf.byteLength * 2, maxHeaderBytes + 4));
      grown.set(r.buf.subarray(0, r.filled));
      r.buf = grown;
    }
    if (r.filled >= r.buf.byteLength) {
      c.waiting = false;
      const bytes = await serialize(plain(431, "request head too large"), false, false);
      await within(c, writeTimeoutMs, writeAll(c, bytes));
      return undefined;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return undefined;
    const n = await within(c, remaining, c.conn.read(r.buf.subarray(r.filled)));
    if (n === null) return undefined;
    if (r.filled === 0 && !r.first) deadline = Date.now() + headerTimeoutMs;
    r.filled += n;
    end = indexOfHeadEnd(r.buf, r.filled, r.filled - n - 3);
  }
  c.waiting = false;
  r.first = false;
  return end;
}

/** Take the head ending at `end` out of the buffer; the rest starts a pipelined request. */
function takeHead(r: Received, end: number): Head | undefined {
  const head = parseHead(new TextDecoder().decode(r.buf.subarray(0, end)));
  r.buf.copyWithin(0, end + 4, r.filled);
  r.filled -= end + 4;
  return head;
}

/** The response to one head, and whether the connection stays open after it. */
function respond(
  state: Connections,
  head: Head | undefined,
): { response: Response; keepAlive: boolean } {
  if (!head) return { response: plain(400, "bad request"), keepAlive: false };
  if (
    head.headers.has("transfer-encoding") ||
    Number(head.headers.get("content-length") ?? 0) !== 0
  ) {
    // None of the endpoints takes a body; not reading one means closing afterwards.
    return { response: plain(400, "request bodies are not accepted"), keepAlive: false };
  }
  const keepAlive = head.version === "HTTP/1.1" &&
    head.headers.get("connection")?.toLowerCase() !== "close";
  const path = head.target.startsWith("/") ? head.target : "/";
  try {
    const request = new Request(`http://localhost${path}`, { method: head.method });
    return { response: state.answer(request), keepAlive };
  } catch (error) {
    state.logger.warn("health server error", { error: String(error) });
    return { response: plain(500, "internal error"), keepAlive };
  }
}

/**
 * Serve one connection until it closes: read a head, answer it, repeat while kept alive. Never
 * throws; removes the connection from `state.open` when done.
 */
export async function serve(state: Connections, c: Connection): Promise<void> {
  // Small at first (a probe's request is ~150 bytes), grown up to the limit only when a head
  // needs it, and reused: a flood of short-lived connections must not leave a buffer each
  // for the garbage collector (array buffers live outside the heap it watches).
  const r: Received = {
    buf: state.spare.pop() ?? new Uint8Array(state.smallBuffer),
    filled: 0,
    first: true,
  };
  try {
    while (!state.closing) {
      const end = await readHead(state, c, r);
      if (end === undefined) return;
      const head = takeHead(r, end);
      const { response, keepAlive } = respond(state, head);
      const bytes = await serialize(response, head?.method === "HEAD", keepAlive);
      await within(c, state.limits.writeTimeoutMs, writeAll(c, bytes));
      if (!keepAlive) return;
    }
  } catch {
    // Reset by the peer, or closed by a deadline or by close(): nothing to tell anyone.
  } finally {
    closeConn(c);
    state.open.delete(c);
    const small = r.buf.byteLength === state.smallBuffer;
    if (small && state.spare.length < state.limits.maxConnections) state.spare.push(r.buf);
  }
}
