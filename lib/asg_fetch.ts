/**
 * The `fetch` the AWS SDK is given: the SDK reads response bodies itself, so their byte bound
 * sits here (lib/asg.ts).
 *
 * @module
 */

import { BodyTooLargeError } from "./body.ts";

/**
 * Bytes of one Auto Scaling answer at most. The SDK reads bodies itself (its deserializers
 * collect the whole stream, error answers included), so the bound sits in the fetch it is given.
 * The two calls' answers, errors included, are a few KiB; 256 KiB leaves room and keeps a huge
 * or endless answer from an endpoint override out of memory.
 */
export const MAX_AWS_BODY_BYTES = 256 * 1024;

/**
 * `fetch` with every response body cut off at `limit` bytes: reading past it errors with
 * {@linkcode BodyTooLargeError} and cancels the rest of the stream.
 */
export function boundedFetch(limit: number, fetchFn: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await fetchFn(input, init);
    if (!response.body) return response;
    let size = 0;
    const limited = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          size += chunk.byteLength;
          if (size > limit) controller.error(new BodyTooLargeError(limit));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(limited, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
