/**
 * What counts as well-formed mail settings here (addresses, server URLs, the mail itself),
 * shared by the notifier's start-up checks and the SMTP client: a value config accepts is one
 * the client sends, and config need not load the client to check it.
 *
 * @module
 */

/**
 * One mail to send; `text` is plain UTF-8 text.
 *
 * @example
 * ```ts
 * const mail: Mail = { from: "alerts@example.com", to: ["ops@example.com"], subject: "Hi", text: "..." };
 * ```
 */
export interface Mail {
  /** A bare address (`a@example.com`) or `Name <a@example.com>`. */
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** A parsed SMTP server URL; see {@linkcode parseSmtpUrl}. */
export interface SmtpServer {
  /** `smtps:`: TLS from the first byte. */
  secure: boolean;
  hostname: string;
  port: number;
  user?: string;
  pass?: string;
}

/**
 * A bare address (`a@example.com`): no spaces, angle brackets, quotes, commas or semicolons,
 * which would let a value smuggle a second recipient or an SMTP command.
 *
 * @example
 * ```ts
 * import { isEmailAddress } from "./mail_syntax.ts";
 *
 * isEmailAddress("ops@example.com"); // true
 * isEmailAddress("ops@example.com, evil@example.net"); // false
 * ```
 */
export function isEmailAddress(value: string): boolean {
  return ADDRESS.test(value);
}

const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+$/;

/**
 * The parts of an `smtp://user:pass@host:587` or `smtps://...` server URL. Errors describe the
 * problem and never echo the URL: it holds the password.
 *
 * @example
 * ```ts
 * import { parseSmtpUrl } from "./mail_syntax.ts";
 *
 * parseSmtpUrl("smtps://bot%40example.com:pw@mail.example.com").port; // 465
 * ```
 */
export function parseSmtpUrl(url: string): SmtpServer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL holds the password: describe the problem, never echo it.
    throw new TypeError("SMTP server URL: not a valid URL");
  }
  if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") {
    throw new TypeError("SMTP server URL: scheme must be smtp: or smtps:");
  }
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!hostname) throw new TypeError("SMTP server URL: no host");
  const secure = parsed.protocol === "smtps:";
  const port = parsed.port ? Number(parsed.port) : secure ? 465 : 587;
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const pass = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  if (user !== undefined && pass === undefined) {
    throw new TypeError("SMTP server URL: user name without password");
  }
  return { secure, hostname, port, user, pass };
}
