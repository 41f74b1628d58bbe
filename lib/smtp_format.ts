/**
 * The text of a notification mail as sent after DATA: RFC 5322 headers (RFC 2047 encoded words
 * where needed) and a 7bit or base64 body, dot-stuffed (lib/smtp.ts sends it).
 *
 * @module
 */

import type { Mail } from "./mail_syntax.ts";

const encoder = new TextEncoder();
const MAX_LINE = 998;

/** Standard base64 of `bytes`, in chunks so a long body does not overflow the call stack. */
export function base64(bytes: Uint8Array): string {
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
export function formatMessage(mail: Mail, from: string, now: Date): string {
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
