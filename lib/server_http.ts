/**
 * The HTTP/1.1 framing of the health listener, as pure functions: where a request head ends, what
 * it says, and the bytes of a response. Three GET endpoints need no more of HTTP than this.
 *
 * @module
 */

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();
const HEAD_END = encoder.encode("\r\n\r\n");

/**
 * Index of the blank line that ends a request head in `buf[0, length)`, searching from `from`;
 * -1 when the head is not complete yet.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
 * indexOfHeadEnd(bytes, bytes.byteLength); // 14
 * ```
 */
export function indexOfHeadEnd(buf: Uint8Array, length: number, from = 0): number {
  outer: for (let i = Math.max(0, from); i + 3 < length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== HEAD_END[j]) continue outer;
    return i;
  }
  return -1;
}

/** A parsed request line and its headers (names lower-cased). */
export interface Head {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string>;
}

/**
 * Parse a request head without its final blank line; `undefined` when it is malformed.
 *
 * @example
 * ```ts
 * parseHead("GET /healthz HTTP/1.1\r\nHost: x")?.target; // "/healthz"
 * ```
 */
export function parseHead(text: string): Head | undefined {
  const [requestLine, ...lines] = text.split("\r\n");
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(requestLine);
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { method: m[1], target: m[2], version: m[3], headers };
}

/**
 * The bytes of `response` on the wire: status line, headers, `content-length`, `connection`, and
 * the body unless `head` (a HEAD request).
 *
 * @example
 * ```ts
 * await serialize(new Response("ok\n"), false, true);
 * ```
 */
export async function serialize(
  response: Response,
  head: boolean,
  keepAlive: boolean,
): Promise<Uint8Array> {
  const body = new Uint8Array(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${REASONS[response.status] ?? ""}`];
  response.headers.forEach((value, name) => lines.push(`${name}: ${value}`));
  lines.push(`content-length: ${body.byteLength}`);
  lines.push(`connection: ${keepAlive ? "keep-alive" : "close"}`);
  const headBytes = encoder.encode(lines.join("\r\n") + "\r\n\r\n");
  if (head) return headBytes;
  const out = new Uint8Array(headBytes.byteLength + body.byteLength);
  out.set(headBytes);
  out.set(body, headBytes.byteLength);
  return out;
}

/**
 * A plain-text response of one line.
 *
 * @example
 * ```ts
 * plain(400, "bad request").status; // 400
 * ```
 */
export function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, { status });
}
