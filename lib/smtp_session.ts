/**
 * One SMTP conversation on a connection: buffered reply reading, one command at a time, each
 * step bounded by a timeout and the caller's signal, and {@linkcode SmtpError} naming the step
 * that failed (lib/smtp.ts drives the steps).
 *
 * @module
 */

import { raceAbort, timeoutSignal } from "./_async.ts";

/**
 * An SMTP failure naming the step (`connect`, `STARTTLS`, `AUTH`, `RCPT TO`, ...) and, when the
 * server answered, its reply code. Never carries the password or the server URL.
 *
 * @example
 * ```ts
 * import type { SmtpSender } from "./smtp.ts";
 * import type { Mail } from "./mail_syntax.ts";
 * declare const sender: SmtpSender, mail: Mail;
 * try {
 *   await sender.send(mail);
 * } catch (e) {
 *   if (e instanceof SmtpError && e.code === 535) console.error("wrong SMTP password");
 * }
 * ```
 */
export class SmtpError extends Error {
  /** The SMTP step that failed. */
  readonly step: string;
  /** The server's reply code, when it sent one. */
  readonly code?: number;

  constructor(step: string, message: string, options: { code?: number; cause?: unknown } = {}) {
    super(`SMTP ${step}: ${message}`, { cause: options.cause });
    this.name = "SmtpError";
    this.step = step;
    this.code = options.code;
  }

  /** True when trying again later may succeed: no reply (network, timeout) or a 4xx reply. */
  get transient(): boolean {
    return this.code === undefined || (this.code >= 400 && this.code < 500);
  }
}

/** A reply: its code and the text of each line. */
export interface Reply {
  code: number;
  lines: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One SMTP conversation: buffered reply reading, per-step timeouts, abort. */
export class Session {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #timeoutMs: number;
  #signal?: AbortSignal;
  #closed = false;

  constructor(conn: Deno.Conn, timeoutMs: number, signal?: AbortSignal) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    this.#signal = signal;
  }

  /**
   * Switch to TLS (STARTTLS or implicit TLS) and finish the handshake within the timeout.
   * Unread plain-text bytes would be taken as the TLS server's words: refuse them.
   */
  async startTls(step: string, options: Deno.StartTlsOptions): Promise<void> {
    if (this.#buffer.length > 0) {
      throw new SmtpError(step, "server sent data before the TLS handshake");
    }
    await this.bounded(step, async () => {
      const tls = await Deno.startTls(this.#conn as Deno.TcpConn, options);
      this.#conn = tls;
      await tls.handshake();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
  }

  /**
   * Run one step under the timeout and the caller's signal. Either of them closes the
   * connection, which also ends the pending read or write.
   */
  async bounded<T>(step: string, work: () => Promise<T>): Promise<T> {
    if (this.#signal?.aborted) throw new SmtpError(step, "aborted");
    const cut = timeoutSignal(this.#timeoutMs, this.#signal);
    // Either of them closes the connection, which also ends the pending read or write.
    const stop = () => {
      this.close();
      return new SmtpError(
        step,
        cut.timedOut() ? `timed out after ${this.#timeoutMs} ms` : "aborted",
      );
    };
    try {
      return await raceAbort(work(), cut.signal, stop);
    } catch (error) {
      if (error instanceof SmtpError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new SmtpError(step, detail, { cause: error });
    } finally {
      cut.clear();
    }
  }

  async #readLine(step: string): Promise<string> {
    while (true) {
      const end = this.#buffer.indexOf(10);
      if (end >= 0) {
        const line = decoder.decode(this.#buffer.subarray(0, end)).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(end + 1);
        return line;
      }
      if (this.#buffer.length > 64 * 1024) {
        throw new SmtpError(step, "reply line too long");
      }
      const chunk = new Uint8Array(4096);
      const n = await this.#conn.read(chunk);
      if (n === null) throw new SmtpError(step, "connection closed by the server");
      const next = new Uint8Array(this.#buffer.length + n);
      next.set(this.#buffer);
      next.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = next;
    }
  }

  async #readReply(step: string): Promise<Reply> {
    const lines: string[] = [];
    while (true) {
      const line = await this.#readLine(step);
      const match = /^(\d{3})([ -]?)(.*)$/.exec(line);
      if (!match) throw new SmtpError(step, "malformed reply from the server");
      lines.push(match[3]);
      if (match[2] !== "-") return { code: Number(match[1]), lines };
    }
  }

  async #write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Send one command (or none, for the greeting) and expect one of `expect` as reply code. */
  command(step: string, line: string | undefined, expect: number[]): Promise<Reply> {
    return this.bounded(step, async () => {
      if (line !== undefined) await this.#write(line + "\r\n");
      const reply = await this.#readReply(step);
      if (!expect.includes(reply.code)) {
        // The reply text helps operators (e.g. "5.7.8 Username and Password not accepted");
        // control characters are dropped so it stays one log line.
        const text = reply.lines.join(" ").replace(/\p{Cc}/gu, "").slice(0, 200);
        throw new SmtpError(step, `server replied ${reply.code} ${text}`.trimEnd(), {
          code: reply.code,
        });
      }
      return reply;
    });
  }
}

/** The extensions an EHLO reply offers, by name, with their parameters. */
export function extensions(reply: Reply): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [name, ...rest] = line.trim().split(/\s+/);
    if (name) map.set(name.toUpperCase(), rest.join(" ").toUpperCase());
  }
  return map;
}
