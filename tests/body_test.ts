import assert from "node:assert/strict";
import { BodyTooLargeError, readBounded } from "../lib/body.ts";
import { redactUrl, redactUserInfo } from "../lib/redact.ts";

Deno.test("readBounded returns a body within the limit", async () => {
  assert.equal(await readBounded(new Response("hello"), 5), "hello");
});

Deno.test("readBounded rejects a body over the limit", async () => {
  await assert.rejects(readBounded(new Response("x".repeat(10)), 5), BodyTooLargeError);
});

Deno.test("readBounded truncates when asked", async () => {
  assert.equal(await readBounded(new Response("abcdefgh"), 3, { truncate: true }), "abc");
});

Deno.test("readBounded stops reading an endless stream at the limit", async () => {
  let pulls = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls++;
      controller.enqueue(new Uint8Array(1024));
    },
  });
  await assert.rejects(readBounded(new Response(endless), 4096), BodyTooLargeError);
  assert.ok(pulls < 10, `pulled ${pulls} chunks`);
});

Deno.test("redactUrl hides user-info and keeps the rest", () => {
  assert.equal(redactUrl("http://a:b@host:1/x?y=1"), "http://***@host:1/x?y=1");
  assert.equal(redactUrl("http://host/x"), "http://host/x");
  assert.equal(
    redactUserInfo("GET https://tok@example.test/a and http://u:p@h/"),
    "GET https://***@example.test/a and http://***@h/",
  );
});
