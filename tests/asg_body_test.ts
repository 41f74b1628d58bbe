/**
 * The Auto Scaling answers' byte bound: the SDK reads bodies itself, so the bound sits in the
 * fetch it is given (lib/asg_fetch.ts boundedFetch). An endpoint override that answers with an endless
 * error body must give a failed detach, not a process that grows until it is killed.
 */
import assert from "node:assert/strict";
import { BodyTooLargeError } from "../lib/body.ts";
import { createAsgDetacher } from "../lib/asg.ts";
import { boundedFetch, MAX_AWS_BODY_BYTES } from "../lib/asg_fetch.ts";
import { createMemoryLogger } from "../lib/log.ts";

function endless(onCancel: () => void): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("<Error>".padEnd(16 * 1024, "x"));
  return new ReadableStream({
    pull(controller) {
      controller.enqueue(chunk);
    },
    cancel: onCancel,
  });
}

Deno.test("boundedFetch passes small bodies and cuts an endless one at the limit", async () => {
  let cancelled = false;
  const inner: typeof fetch = (input) =>
    Promise.resolve(
      String(input).endsWith("/small")
        ? new Response("<ok/>", { status: 200, headers: { "x-amzn-requestid": "r1" } })
        : new Response(endless(() => cancelled = true), { status: 500 }),
    );
  const f = boundedFetch(64 * 1024, inner);
  const small = await f("http://127.0.0.1:9/small");
  assert.equal(small.headers.get("x-amzn-requestid"), "r1");
  assert.equal(await small.text(), "<ok/>");
  const big = await f("http://127.0.0.1:9/big");
  assert.equal(big.status, 500);
  await assert.rejects(big.arrayBuffer(), (e: unknown) => {
    assert.ok(e instanceof BodyTooLargeError);
    return true;
  });
  assert.ok(cancelled, "the rest of the stream is cancelled");
});

Deno.test("an endless Auto Scaling error body ends as a failed detach", async () => {
  let cancel: () => void = () => {};
  const cancelled = new Promise<void>((resolve) => (cancel = resolve));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(endless(() => cancel()), {
        status: 500,
        headers: { "content-type": "text/xml" },
      }),
  );
  try {
    const asg = createAsgDetacher({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      logger: createMemoryLogger(),
      credentials: { accessKeyId: "AKIAFAKE", secretAccessKey: "fake" },
      maxAttempts: 1,
    });
    // Bounded, so that a regression (the SDK reading forever) fails instead of hanging.
    let limit: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      asg.detach("i-0123456789abcdef0"),
      new Promise<never>((_, reject) => {
        limit = setTimeout(() => reject(new Error("detach did not end within 30 s")), 30_000);
      }),
    ]).finally(() => clearTimeout(limit));
    assert.equal(result.status, "failed");
    assert.match(result.message!, /larger than 262144 bytes|BodyTooLarge/);
    assert.equal(MAX_AWS_BODY_BYTES, 262144);
    // The server stops streaming once the client has dropped the answer (bounded wait).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      cancelled,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("the stream was never cancelled")), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await server.shutdown();
  }
});
