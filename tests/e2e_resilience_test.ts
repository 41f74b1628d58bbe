/**
 * End to end: the handler survives what goes wrong in production (IMDS faults, expired tokens,
 * restarts mid-drain, bad configuration) without crashing, losing a notice or repeating one.
 */
import assert from "node:assert/strict";
import { demoPods } from "../tools/fake_apiserver.ts";
import { formatNoticeTime } from "../tools/mock_imds.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { startStack, withHandler } from "../tools/stack.ts";
import { waitFor } from "../tools/wait.ts";
import type { WebhookEventV1 } from "../lib/notify_webhook_event.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

function webhookEvents(requests: { path: string; body: string }[]): WebhookEventV1[] {
  return requests.filter((r) => r.path === "/webhook").map((r) => JSON.parse(r.body));
}

Deno.test("e2e: a restarted handler does not repeat a notice it already handled", async () => {
  const stack = await startStack({
    node: NODE,
    api: { pods: demoPods(NODE) },
    imds: { scenario: { spot: { afterMs: 0 } } },
  });
  try {
    const first = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    await first.waitForLine(/notice handled/);
    assert.equal((await first.stop()).code, 0);
    const evictions = stack.api.evictions().length;

    const second = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    await second.waitForLine(/already handled before a restart/);
    assert.equal((await second.stop()).code, 0);
    assert.equal(webhookEvents(stack.sink.requests).length, 2, "one notice and one result only");
    assert.equal(stack.api.evictions().length, evictions, "no eviction repeated");
  } finally {
    await stack.close();
  }
});

Deno.test("e2e: a handler restarted mid-drain finishes the drain without a second start message", async () => {
  // The budget refuses until the test lifts it, so the first handler is certainly mid-drain (its
  // other evictions accepted, this one being retried) when it is killed: no race with its result.
  const pods = demoPods(NODE);
  const guarded = pods.find((p) => p.name.startsWith("payments"))!;
  const stack = await startStack({
    node: NODE,
    api: { pods: pods.map((p) => p === guarded ? { ...p, pdbBlocks: Infinity } : p) },
    imds: { scenario: { spot: { afterMs: 0 } } },
  });
  const refusals = () =>
    stack.api.requests.filter((r) =>
      r.subresource === "eviction" && r.name === guarded.name && r.status === 429
    ).length;
  try {
    const first = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    await first.waitForLine(/eviction refused, will retry until the deadline/);
    await first.waitForLine(/eviction accepted pod=default\/web-/);
    await waitFor("a second refusal: the first handler is retrying", () => refusals() >= 2, {
      timeoutMs: 20_000,
    });
    // SIGKILL: a crash or a node-pressure kill, not a graceful stop.
    first.kill("SIGKILL");
    await first.status;
    assert.ok(
      !first.lines.some((l) => /drain finished|phase=result/.test(l)),
      first.lines.join("\n"),
    );
    stack.api.setPdbBlocks(guarded.namespace, guarded.name, 0);

    const second = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
    await second.waitForLine(/resuming a notice a previous run started/);
    await second.waitForLine(/notice handled/, 30_000);
    await second.stop();
    const events = webhookEvents(stack.sink.requests);
    assert.deepEqual(events.map((e) => e.event), ["notice", "result"]);
    assert.deepEqual(events[1].result?.remaining, [], "the resumed drain left nothing behind");
    assert.ok(
      stack.api.evictions().some((e) => e.name === guarded.name),
      "the PDB-guarded pod was evicted in the end",
    );
  } finally {
    await stack.close();
  }
});

Deno.test("e2e: IMDS errors, hangs and garbage are survived and the notice is still handled", async () => {
  await withHandler({ node: NODE, api: { pods: demoPods(NODE) } }, {}, async (stack, handler) => {
    stack.imds.fault({ status: 500, times: 6 });
    await handler.waitForLine(/WARN {2}IMDS poll failed .*kind=http_5xx/);
    stack.imds.fault({ malformed: true, times: 4, path: "meta-data/spot/instance-action" });
    stack.imds.setScenario({ spot: { afterMs: 0 } });
    await handler.waitForLine(
      /WARN {2}IMDS poll failed path=meta-data\/spot\/instance-action kind=malformed/,
    );
    await handler.waitForLine(/notice handled/, 30_000);
    assert.equal(webhookEvents(stack.sink.requests).length, 2);
    assert.ok(!handler.lines.some((l) => /uncaught|panic/i.test(l)), handler.lines.join("\n"));
  });
});

Deno.test("e2e: a hanging IMDS does not stall the poll loop", async () => {
  await withHandler({ node: NODE, api: { pods: demoPods(NODE) } }, {}, async (stack, handler) => {
    stack.imds.fault({ hang: true, times: 3, path: "meta-data/spot/instance-action" });
    await handler.waitForLine(
      /WARN {2}IMDS poll failed path=meta-data\/spot\/instance-action kind=timeout/,
      30_000,
    );
    stack.imds.setScenario({ spot: { afterMs: 0 } });
    await handler.waitForLine(/notice handled/, 30_000);
  });
});

Deno.test("e2e: IMDSv2-only with expired tokens refreshes the token and sees the notice", async () => {
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { requireToken: true },
    },
    { AWS_EC2_METADATA_V1_DISABLED: "true", LOG_LEVEL: "debug" },
    async (stack, handler) => {
      await handler.waitForLine(/instance identity/);
      const putsBefore = stack.imds.requests.filter((r) => r.method === "PUT").length;
      stack.imds.expireTokens();
      stack.imds.setScenario({ spot: { afterMs: 500 } });
      await handler.waitForLine(/notice handled/, 30_000);
      const puts = stack.imds.requests.filter((r) => r.method === "PUT").length;
      assert.ok(puts > putsBefore, "a fresh token was requested after the 401");
      assert.ok(
        stack.imds.requests.some((r) => r.status === 401),
        "the mock refused the old token",
      );
      assert.ok(
        stack.imds.requests.filter((r) => r.method === "GET").every((r) => r.hadToken),
        "never fell back to IMDSv1",
      );
    },
  );
});

Deno.test("e2e: an unreachable IMDS is logged and retried, never fatal", async () => {
  await withHandler({ node: NODE }, {
    // Port 9 on loopback: nothing listens there, connections are refused at once.
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
  }, async (_stack, handler) => {
    await handler.waitForLine(/WARN {2}IMDS poll failed .*kind=refused/);
    await handler.waitForLine(/instance identity not available yet/);
    const status = await handler.stop();
    assert.equal(status.code, 0, "SIGTERM ends it cleanly");
  });
});

Deno.test("e2e: invalid environment values exit 2 with one line per problem and no secret", async () => {
  const handler = spawnHandler({
    env: {
      NODE_NAME: "n1",
      POLL_INTERVAL: "soon",
      LOG_FORMAT: "xml",
      METRICS_PORT: "-1",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "169.254.169.254",
      SLACK_URL: "hooks.slack.com/services/TOPSECRET",
    },
  });
  const status = await handler.status;
  assert.equal(status.code, 2);
  const problems = handler.lines.filter((l) => l.startsWith("config error: "));
  assert.deepEqual(
    problems.map((l) => l.slice("config error: ".length).split(":")[0]).sort(),
    [
      "AWS_EC2_METADATA_SERVICE_ENDPOINT",
      "LOG_FORMAT",
      "METRICS_PORT",
      "POLL_INTERVAL",
      "SLACK_URL",
    ],
  );
  assert.ok(!handler.lines.join("\n").includes("TOPSECRET"));
});

Deno.test("e2e: --help lists the variables and exits 0", async () => {
  const handler = spawnHandler({ env: {}, args: ["--help"] });
  assert.equal((await handler.status).code, 0);
  const text = handler.lines.join("\n");
  for (
    const name of [
      "NODE_NAME",
      "POLL_INTERVAL",
      "DETACH_ASG",
      "SLACK_URL",
      "WEBHOOK_URL",
      "METRICS_PORT",
    ]
  ) {
    assert.match(text, new RegExp(`\\b${name}\\b`));
  }
});

Deno.test("e2e: the metrics endpoint counts polls and the notice", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const time = formatNoticeTime(new Date(Date.now() + 120_000));
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { spot: { time, afterMs: 300 } } },
    },
    { METRICS_PORT: String(port) },
    async (stack, handler) => {
      await handler.waitForLine(/notice handled/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(ready.status, 200);
      await ready.body?.cancel();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(text, /^sth_notices_total\{kind="spot-interruption"\} 1$/m);
      assert.match(text, /^sth_evictions_total\{outcome="evicted"\} \d+$/m);
      assert.match(text, /^sth_notifications_total\{outcome="ok",target="webhook"\} 2$/m);
      const polls = Number(text.match(/^sth_imds_polls_total (\d+)$/m)?.[1]);
      assert.ok(polls >= 1, text);
      assert.ok(!text.includes(stack.sink.url), "no webhook URL in metrics");
    },
  );
});
