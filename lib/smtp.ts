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

import { timeoutSignal } from "./_async.ts";
import { isEmailAddress, type Mail, parseSmtpUrl, type SmtpServer } from "./mail_syntax.ts";
import { base64, formatMessage } from "./smtp_format.ts";
import { extensions, Session, SmtpError } from "./smtp_session.ts";

/**
 * Sends one mail per call; each call opens and closes its own connection.
 *
 * @example
 * ```ts
 * import type { Mail } from "./mail_syntax.ts";
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

const encoder = new TextEncoder();

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

/** The bare address of `a@b` or `Name <a@b>`, or undefined when it is not one. */
function envelopeAddress(value: string): string | undefined {
  const angle = /^[^<>\r\n]*<([^<>\s]+)>\s*$/.exec(value);
  const address = angle ? angle[1] : value.trim();
  return isEmailAddress(address) ? address : undefined;
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
