/**
 * The notifier's transport against hostile or slow targets: redirects (tools/redirecting_webhook.ts),
 * error bodies, and a dead target next to a healthy one.
 */
import assert from "node:assert/strict";
import { createMemoryLogger } from "../lib/log.ts";
import type { Notice } from "../lib/notice.ts";
import { createNotifier } from "../lib/notify.ts";
import type { Message } from "../lib/notify_message.ts";
import { startRedirectingWebhook } from "../tools/redirecting_webhook.ts";

const notice: Notice = {
  id: "spot-interruption:2026-11-25T10:02:00Z",
  kind: "spot-interruption",
  noticeTime: new Date("2026-11-25T10:02:00Z"),
  deadline: new Date("2026-11-25T10:01:55Z"),
  action: "terminate",
  raw: "{}",
};
const context = {
  node: "ip-10-0-0-1",
  instanceId: "i-0",
  instanceType: "m5.large",
  availabilityZone: "eu-west-1a",
};
const start: Message = { phase: "start", notice, context, dryRun: false, plan: ["drain"] };
const result: Message = { ...start, phase: "result", report: {} };

function notifier(env: Record<string, string>, fetchFn?: typeof fetch) {
  const logger = createMemoryLogger();
  return {
    logger,
    notifier: createNotifier(env, {
      logger,
      fetch: fetchFn,
      timeoutMs: 60_000,
      retries: 3,
      sleep: () => Promise.resolve(),
    }),
  };
}

Deno.test("webhook redirects: 307/308 to the same origin are followed with the body, others fail", async () => {
  const other = startRedirectingWebhook();
  const hostile = startRedirectingWebhook({ otherOrigin: other.url });
  try {
    for (const status of [307, 308]) {
      hostile.requests.length = 0;
      const { notifier: n, logger } = notifier({
        WEBHOOK_URL: `${hostile.url}/${status}/same/hook-SECRET`,
      });
      const [outcome] = await n.send(start);
      assert.deepEqual(outcome, { target: "webhook", ok: true, attempts: 1 }, String(status));
      assert.deepEqual(hostile.requests.map((r) => [r.method, r.path]), [
        ["POST", `/${status}/same/hook-SECRET`],
        ["POST", "/final/hook-SECRET"],
      ]);
      assert.equal(hostile.requests[1].body, hostile.requests[0].body, "same body");
      assert.match(hostile.requests[1].body, /"event":"notice"/);
      assert.ok(logger.lines.some((l) => /notification sent target=webhook/.test(l)));
    }
    const cases = [
      ["302/same", "302", /HTTP 302 redirect \(only 307\/308 keep the message\) not followed/],
      ["301/same", "301", /HTTP 301 redirect/],
      ["303/same", "303", /HTTP 303 redirect/],
      ["307/other", "307", /HTTP 307 redirect to another host not followed/],
      ["308/other", "308", /HTTP 308 redirect to another host not followed/],
      ["302/other", "302", /HTTP 302 redirect to another host not followed/],
      ["307/loop", "307", /HTTP 307 redirect too many times not followed/],
    ] as const;
    for (const [path, status, error] of cases) {
      hostile.requests.length = 0;
      other.requests.length = 0;
      const { notifier: n, logger } = notifier({
        WEBHOOK_URL: `${hostile.url}/${path}/hook-SECRET`,
      });
      const [outcome] = await n.send(start);
      assert.equal(outcome.ok, false, path);
      assert.equal(outcome.attempts, 1, `${path}: a redirect is final, not retried`);
      assert.match(outcome.error!, error);
      assert.deepEqual(other.requests, [], `${path}: nothing reached the other host`);
      assert.ok(hostile.requests.every((r) => r.method === "POST"), "never turned into a GET");
      const line = logger.lines.find((l) => /notification failed/.test(l))!;
      assert.match(line, new RegExp(`status=${status}`));
      const all = logger.lines.join("\n");
      assert.ok(!all.includes("SECRET"), all);
      assert.ok(!all.includes(hostile.url) && !all.includes(other.url), "no URL in the log");
      assert.ok(!logger.lines.some((l) => /notification sent/.test(l)), "never reported sent");
    }
  } finally {
    await hostile.close();
    await other.close();
  }
});

Deno.test("an error body is read with a byte limit and shown scrubbed in the log", async () => {
  let cancelled = false;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode("invalid_token https://hooks.example/T/SECRET "));
    },
    cancel() {
      cancelled = true;
    },
  });
  const fetchFn: typeof fetch = () => Promise.resolve(new Response(endless, { status: 400 }));
  const { notifier: n, logger } = notifier(
    { SLACK_URL: "https://hooks.slack.com/x/SECRET" },
    fetchFn,
  );
  const [outcome] = await n.send(start);
  assert.deepEqual(outcome, { target: "slack", ok: false, attempts: 1, error: "HTTP 400" });
  assert.ok(cancelled, "the endless body was cancelled at the limit");
  const line = logger.lines.find((l) => /notification failed/.test(l))!;
  assert.match(line, /response="invalid_token \[redacted URL\]/);
  assert.ok(!line.includes("SECRET"));
  assert.ok(line.length < 600, "the body in the log is short");
});

/** `promise`, or a rejection naming `what` after 10 s: a regression fails instead of hanging. */
async function bounded<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within 10 s`)), 10_000);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a dead target does not hold back another target's result; start-before-result holds per target", async () => {
  const events: string[] = [];
  // Each request to the hanging target waits here until the test releases it.
  const held: (() => void)[] = [];
  let onHeld: () => void = () => {};
  let fastResult: () => void = () => {};
  const fastResultArrived = new Promise<void>((resolve) => (fastResult = resolve));
  const fetchFn: typeof fetch = async (input, init) => {
    const body = decodeURIComponent(String(init?.body ?? ""));
    const phase = /"event":"result"|Result/.test(body) ? "result" : "start";
    const target = String(input).includes("slow") ? "slack" : "webhook";
    events.push(`${target} ${phase}`);
    if (target === "slack") {
      await new Promise<void>((resolve) => {
        held.push(resolve);
        onHeld();
      });
    } else if (phase === "result") {
      fastResult();
    }
    return new Response("ok");
  };
  const nextHeld = () =>
    held.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => (onHeld = resolve));
  const { notifier: n } = notifier({
    SLACK_URL: "http://127.0.0.1:9/slow",
    WEBHOOK_URL: "http://127.0.0.1:9/fast",
  }, fetchFn);
  // As the handler is to call it: the result is sent without waiting for every start.
  const started = n.send(start);
  const finished = n.send(result);
  await bounded("the fast target's result", fastResultArrived);
  assert.deepEqual(events, ["slack start", "webhook start", "webhook result"]);
  assert.equal(held.length, 1, "slack's result waits for slack's own start");
  held.shift()!();
  const startOutcomes = await bounded("the start outcomes", started);
  await bounded("slack's result request", nextHeld());
  assert.deepEqual(events, ["slack start", "webhook start", "webhook result", "slack result"]);
  held.shift()!();
  const resultOutcomes = await bounded("the result outcomes", finished);
  assert.ok(startOutcomes.every((o) => o.ok) && resultOutcomes.every((o) => o.ok));
});

Deno.test("a result without a start (a resumed notice) is sent at once", async () => {
  const paths: string[] = [];
  const fetchFn: typeof fetch = (input) => {
    paths.push(new URL(String(input)).pathname);
    return Promise.resolve(new Response("ok"));
  };
  const { notifier: n } = notifier({ WEBHOOK_URL: "http://127.0.0.1:9/hook" }, fetchFn);
  const outcomes = await n.send({ ...result, notice: { ...notice, id: "other" } });
  assert.deepEqual(outcomes, [{ target: "webhook", ok: true, attempts: 1 }]);
  assert.deepEqual(paths, ["/hook"]);
});
