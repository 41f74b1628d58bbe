// deno-lint-ignore-file house/max-file-lines -- DEBT(issue 14): split, then drop this line
/**
 * A small SMTP client for notification mail, built on `Deno.connect`, `Deno.connectTls` and
 * `Deno.startTls`. Not `node:net`/`node:tls`: with the default CA store they ask for sys access
 * "ca", which Deno cannot grant narrowly (docs/design.md), so they would widen the handler's sandbox.
 *
 * `smtp://user:pass@host:587` connects in plain text and upgrades with STARTTLS when the server
 * offers it; `smtps://user:pass@host:465` uses TLS from the first byte. Credentials are never
 * sent in clear text to a host other than loopback.
 *
 * @module
 */

import { raceAbort, timeoutSignal } from "./_async.ts";
import { isEmailAddress, type Mail, parseSmtpUrl, type SmtpServer } from "./mail_syntax.ts";

export type { Mail } from "./mail_syntax.ts";

/**
 * Sends one mail per call; each call opens and closes its own connection.
 *
 * @example
 * ```ts
 * declare const mail: Mail;
 * const sender: SmtpSender = createSmtpSender("smtps://user:pass@mail.example.com");
 * await sender.send(mail, { signal: AbortSignal.timeout(10_000) });
 * ```
 */
export interface SmtpSender {
  send(mail: Mail, options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Options of {@linkcode createSmtpSender}.
 *
 * @example
 * ```ts
 * const privateRelayCaPem = await Deno.readTextFile("/etc/ssl/private-relay-ca.pem");
 * const options: SmtpSenderOptions = { timeoutMs: 5000, caCerts: [privateRelayCaPem] };
 * ```
 */
export interface SmtpSenderOptions {
  /** Bound on each step (connect, TLS handshake, every command's reply). Default 10 000 ms. */
  timeoutMs?: number;
  /** Extra PEM certificates to trust, e.g. a private relay's CA; the system roots stay trusted. */
  caCerts?: string[];
  /** Name announced in EHLO/HELO. Default `localhost`. */
  hostname?: string;
}

/**
 * An SMTP failure naming the step (`connect`, `STARTTLS`, `AUTH`, `RCPT TO`, ...) and, when the
 * server answered, its reply code. Never carries the password or the server URL.
 *
 * @example
 * ```ts
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

interface Reply {
  code: number;
  lines: string[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_LINE = 998;

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

/** The bare address of `a@b` or `Name <a@b>`, or undefined when it is not one. */
function envelopeAddress(value: string): string | undefined {
  const angle = /^[^<>\r\n]*<([^<>\s]+)>\s*$/.exec(value);
  const address = angle ? angle[1] : value.trim();
  return isEmailAddress(address) ? address : undefined;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** RFC 2047 encoded words for a header value that is not plain printable ASCII. */
function encodeHeader(value: string): string {
  const clean = value.replace(/[\r\n]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  const words: string[] = [];
  let chunk = "";
  for (const char of clean) {
    // 45 bytes of UTF-8 become 60 base64 characters: each encoded word stays under 76.
    if (encoder.encode(chunk + char).length > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64(encoder.encode(w))}?=`).join("\r\n ");
}

function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/**
 * The message as sent after DATA: headers, a blank line, the body with CRLF line ends and
 * leading dots doubled, without the final `.` line.
 */
function formatMessage(mail: Mail, from: string, now: Date): string {
  const domain = from.slice(from.lastIndexOf("@") + 1);
  const lines = mail.text.replace(/\r\n?/g, "\n").split("\n");
  const plain = /^[\t\n\r -~]*$/.test(mail.text) && lines.every((l) => l.length <= MAX_LINE);
  const body = plain ? lines : (base64(encoder.encode(lines.join("\r\n"))).match(/.{1,76}/g) ?? []);
  const headers = [
    `Date: ${rfc5322Date(now)}`,
    `From: ${encodeHeader(mail.from)}`,
    `To: ${mail.to.join(",\r\n ")}`,
    `Subject: ${encodeHeader(mail.subject)}`,
    `Message-ID: <${crypto.randomUUID()}@${domain}>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=UTF-8",
    `Content-Transfer-Encoding: ${plain ? "7bit" : "base64"}`,
  ];
  const stuffed = body.map((l) => (l.startsWith(".") ? "." + l : l));
  return [...headers, "", ...stuffed].join("\r\n");
}

/** One SMTP conversation: buffered reply reading, per-step timeouts, abort. */
class Session {
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

function extensions(reply: Reply): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of reply.lines.slice(1)) {
    const [name, ...rest] = line.trim().split(/\s+/);
    if (name) map.set(name.toUpperCase(), rest.join(" ").toUpperCase());
  }
  return map;
}

/** One sender's server and settings, defaults filled in. */
interface SmtpSettings {
  server: SmtpServer;
  timeoutMs: number;
  ehloName: string;
  caCerts?: string[];
}

/** Open the connection (and TLS at once for `smtps:`) within the timeout. */
async function connect(settings: SmtpSettings, signal?: AbortSignal): Promise<Session> {
  const { server, timeoutMs } = settings;
  const cut = timeoutSignal(timeoutMs, signal);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: server.hostname,
      port: server.port,
      signal: cut.signal,
    });
  } catch (error) {
    const detail = signal?.aborted
      ? "aborted"
      : cut.timedOut()
      ? `timed out after ${timeoutMs} ms`
      : error instanceof Error
      ? error.message
      : String(error);
    throw new SmtpError("connect", detail, { cause: error });
  } finally {
    cut.clear();
  }
  const session = new Session(conn, timeoutMs, signal);
  if (server.secure) {
    try {
      await session.startTls("TLS", { hostname: server.hostname, caCerts: settings.caCerts });
    } catch (error) {
      session.close();
      throw error;
    }
  }
  return session;
}

/** EHLO, or HELO for a server from before ESMTP; the extensions it offers. */
async function hello(session: Session, ehloName: string): Promise<Map<string, string>> {
  try {
    return extensions(await session.command("EHLO", `EHLO ${ehloName}`, [250]));
  } catch (error) {
    // Servers from before ESMTP answer 500/502; they get HELO and no extensions.
    if (!(error instanceof SmtpError) || (error.code !== 500 && error.code !== 502)) throw error;
    await session.command("HELO", `HELO ${ehloName}`, [250]);
    return new Map();
  }
}

/**
 * Upgrade a plain connection with STARTTLS when offered; without it, refuse to send a password
 * to anything but loopback. Returns the extensions offered on the connection as it now is.
 */
async function upgrade(
  session: Session,
  settings: SmtpSettings,
  offered: Map<string, string>,
): Promise<Map<string, string>> {
  const { server } = settings;
  if (server.secure) return offered;
  if (offered.has("STARTTLS")) {
    await session.command("STARTTLS", "STARTTLS", [220]);
    await session.startTls("STARTTLS", { hostname: server.hostname, caCerts: settings.caCerts });
    return await hello(session, settings.ehloName);
  }
  if (server.user !== undefined && !isLoopback(server.hostname)) {
    throw new SmtpError(
      "STARTTLS",
      "server does not offer STARTTLS; refusing to send the password in clear text",
    );
  }
  return offered;
}

async function authenticate(
  session: Session,
  server: SmtpServer,
  offered: Map<string, string>,
): Promise<void> {
  const { user, pass } = server;
  if (user === undefined || pass === undefined) return;
  const mechanisms = (offered.get("AUTH") ?? "").split(/\s+/);
  if (mechanisms.includes("PLAIN")) {
    const token = base64(encoder.encode(`\0${user}\0${pass}`));
    await session.command("AUTH", `AUTH PLAIN ${token}`, [235]);
  } else if (mechanisms.includes("LOGIN")) {
    await session.command("AUTH", "AUTH LOGIN", [334]);
    await session.command("AUTH", base64(encoder.encode(user)), [334]);
    await session.command("AUTH", base64(encoder.encode(pass)), [235]);
  } else {
    throw new SmtpError("AUTH", "server offers neither AUTH PLAIN nor AUTH LOGIN");
  }
}

/** The envelope sender of a mail whose addresses are all well-formed; throws otherwise. */
function envelopeSender(mail: Mail): string {
  const from = envelopeAddress(mail.from);
  if (!from) throw new TypeError(`mail from: ${JSON.stringify(mail.from)} is not an address`);
  if (mail.to.length === 0) throw new TypeError("mail to: no recipient");
  for (const to of mail.to) {
    if (!isEmailAddress(to)) {
      throw new TypeError(`mail to: ${JSON.stringify(to)} is not an address`);
    }
  }
  return from;
}

/** MAIL FROM, RCPT TO each recipient, DATA, QUIT. */
async function transfer(session: Session, mail: Mail, from: string): Promise<void> {
  await session.command("MAIL FROM", `MAIL FROM:<${from}>`, [250]);
  for (const to of mail.to) {
    await session.command("RCPT TO", `RCPT TO:<${to}>`, [250, 251]);
  }
  await session.command("DATA", "DATA", [354]);
  const message = formatMessage({ ...mail, from: mail.from.trim() }, from, new Date());
  await session.command("DATA", `${message}\r\n.`, [250]);
  try {
    await session.command("QUIT", "QUIT", [221]);
  } catch {
    // The mail is accepted; a server that drops the connection on QUIT changes nothing.
  }
}

/**
 * Create a sender for one server URL (`smtp://user:pass@host:587` or `smtps://user:pass@host:465`;
 * user and password percent-encoded). The URL is checked here; a bad one throws a TypeError
 * that does not repeat it.
 *
 * @example
 * ```ts
 * const smtp = createSmtpSender("smtp://alerts%40example.com:secret@mail.example.com:587");
 * await smtp.send({
 *   from: "alerts@example.com",
 *   to: ["ops@example.com"],
 *   subject: "Spot Termination Notification",
 *   text: "Spot Termination (prod): ip-10-0-0-1, Instance: i-0abc, ...",
 * });
 * ```
 */
export function createSmtpSender(url: string, options: SmtpSenderOptions = {}): SmtpSender {
  const settings: SmtpSettings = {
    server: parseSmtpUrl(url),
    timeoutMs: options.timeoutMs ?? 10_000,
    ehloName: options.hostname ?? "localhost",
    caCerts: options.caCerts,
  };
  return {
    async send(mail, sendOptions = {}) {
      const from = envelopeSender(mail);
      const session = await connect(settings, sendOptions.signal);
      try {
        await session.command("greeting", undefined, [220]);
        const offered = await upgrade(session, settings, await hello(session, settings.ehloName));
        await authenticate(session, settings.server, offered);
        await transfer(session, mail, from);
      } finally {
        session.close();
      }
    },
  };
}
