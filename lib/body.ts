/**
 * Reading a response body with a byte limit. Every body the handler reads comes from outside
 * (IMDS, webhooks, the Kubernetes and AWS APIs), and `Response.text()` buffers whatever arrives:
 * a 100 MB or endless answer would grow the process past its memory limit. Reading stops at the
 * limit and the rest of the stream is cancelled, so memory stays flat whatever the peer sends.
 *
 * @module
 */

/** Thrown when a body is longer than its limit. */
export class BodyTooLargeError extends Error {
  /** The limit that was exceeded, in bytes. */
  limit: number;
  constructor(limit: number) {
    super(`response body larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
}

/**
 * The body as UTF-8 text, at most `limit` bytes; longer bodies reject with
 * {@linkcode BodyTooLargeError} (or, with `truncate`, resolve with the first `limit` bytes).
 *
 * @example
 * ```ts
 * import { readBounded } from "./body.ts";
 * const text = await readBounded(new Response("hello"), 4096); // "hello"
 * ```
 */
export async function readBounded(
  response: Response,
  limit: number,
  options: { truncate?: boolean } = {},
): Promise<string> {
  if (!response.body) return "";
  const declared = Number(response.headers.get("content-length"));
  if (!options.truncate && Number.isFinite(declared) && declared > limit) {
    await response.body.cancel().catch(() => {});
    throw new BodyTooLargeError(limit);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > limit) {
        if (!options.truncate) throw new BodyTooLargeError(limit);
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // Cancelling tells the peer we stopped reading; an endless body is dropped here.
    reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
