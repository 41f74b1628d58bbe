/**
 * End to end, issue "Never lose the two-minute window": main.ts as a subprocess with the shipped
 * flags against a Kubernetes API stand-in that fails in every way seen in the field. Whatever the
 * API does, the start message and the ASG detach go out at once (the notice's deadline is a
 * minute away, so a handler that waited for the API would miss the wait bounds below by far);
 * permanent errors end with one `error` line naming the fix and a result that says the drain did
 * not run; transient ones keep retrying.
 */
import assert from "node:assert/strict";
import { DEMO_HANDLER_POD, demoPods } from "../tools/fake_apiserver.ts";
import type { FakeFailure } from "../tools/fake_apiserver_store.ts";
import { formatNoticeTime } from "../tools/mock_imds.ts";
import { type HandlerProcess, spawnHandler } from "../tools/handler_process.ts";
import { type Stack, startStack, withHandler } from "../tools/stack.ts";
import type { WebhookEventV1 } from "../lib/notify_webhook_event.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

function webhookEvents(stack: Stack): WebhookEventV1[] {
  return stack.sink.requests.filter((r) => r.path === "/webhook").map((r) => JSON.parse(r.body));
}

/** A notice a minute out, served once the handler is up. */
function spotInAMinute() {
  return {
    spot: {
      action: "terminate" as const,
      time: formatNoticeTime(new Date(Date.now() + 60_000)),
      afterMs: 1_500,
    },
  };
}

async function startAndDetachGoOut(stack: Stack, handler: HandlerProcess): Promise<void> {
  const [start] = await stack.sink.waitFor(1, { pathPrefix: "/webhook", timeoutMs: 15_000 });
  assert.equal(JSON.parse(start.body).event, "notice", handler.lines.join("\n"));
  for (let i = 0; i < 100 && !stack.asg.requests.some((r) => r.action === "DetachInstances"); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(stack.asg.requests.some((r) => r.action === "DetachInstances"), "ASG detach started");
}

interface PermanentCase {
  name: string;
  failures?: FakeFailure[];
  /** Extra environment; may rewrite the stack's kubeconfig before the handler starts. */
  env?: (stack: Stack) => Record<string, string>;
  apiToken?: string;
  reason: string;
  /** The error line must name this. */
  fix: RegExp;
}

const PERMANENT: PermanentCase[] = [
  {
    name: "403 on the node PATCH",
    failures: [{ verb: "patch", resource: "nodes", status: 403, times: Infinity }],
    reason: "partial-or-drained",
    fix: /grant verb \\?"patch\\?" on \\?"nodes\\?"/,
  },
  {
    name: "403 on listing pods",
    failures: [{ verb: "list", resource: "pods", status: 403, times: Infinity }],
    reason: "forbidden",
    fix: /grant verb \\?"list\\?" on \\?"pods\\?"/,
  },
  {
    name: "403 on reading the node",
    failures: [{ verb: "get", resource: "nodes", status: 403, times: Infinity }],
    reason: "partial-or-drained",
    fix: /grant verb \\?"get\\?" on \\?"nodes\\?"/,
  },
  {
    name: "403 on reading the own pod (NODE_NAME unset)",
    failures: [{ verb: "get", resource: "pods", status: 403, times: Infinity }],
    env: () => ({
      NODE_NAME: "",
      POD_NAME: DEMO_HANDLER_POD.name,
      NAMESPACE: DEMO_HANDLER_POD.namespace,
    }),
    reason: "forbidden",
    fix: /grant verb \\?"get\\?" on \\?"pods\\?"/,
  },
  {
    name: "403 on evictions",
    failures: [{
      verb: "create",
      resource: "pods",
      subresource: "eviction",
      status: 403,
      times: Infinity,
    }],
    reason: "evictions-forbidden",
    fix: /grant verb \\?"create\\?" on \\?"pods\/eviction\\?"/,
  },
  {
    name: "a node that does not exist",
    env: () => ({ NODE_NAME: "no-such-node" }),
    reason: "node-not-found",
    fix: /NODE_NAME/,
  },
  {
    name: "401 for the kubeconfig's token",
    apiToken: "the-real-token",
    env: (stack) => {
      const text = Deno.readTextFileSync(stack.kubeconfig);
      Deno.writeTextFileSync(stack.kubeconfig, text.replace("the-real-token", "a-stale-token"));
      return {};
    },
    reason: "unauthorized",
    fix: /refused the credentials/,
  },
  {
    name: "a plain-http kubeconfig without insecure-skip-tls-verify",
    env: (stack) => {
      const text = Deno.readTextFileSync(stack.kubeconfig).replace(
        "    insecure-skip-tls-verify: true\n",
        "",
      );
      Deno.writeTextFileSync(stack.kubeconfig, text);
      return {};
    },
    reason: "config",
    fix: /insecure-skip-tls-verify/,
  },
];

for (const c of PERMANENT) {
  Deno.test(`e2e: ${c.name}: start message and ASG detach at once, one error line with the fix, an honest result`, async () => {
    await withHandler(
      {
        node: NODE,
        api: {
          pods: demoPods(NODE),
          failures: c.failures,
          ...(c.apiToken ? { token: c.apiToken } : {}),
        },
        imds: { scenario: spotInAMinute() },
      },
      (stack) => ({ DETACH_ASG: "true", ...c.env?.(stack) }),
      async (stack, handler) => {
        await startAndDetachGoOut(stack, handler);
        const [, resultRequest] = await stack.sink.waitFor(2, {
          pathPrefix: "/webhook",
          timeoutMs: 20_000,
        });
        const result = JSON.parse(resultRequest.body) as WebhookEventV1;
        const drain = result.result!.drain!;
        if (c.reason === "evictions-forbidden") {
          assert.equal(drain.status, "partial");
          assert.equal(result.result!.evicted.length, 0);
          assert.ok(result.result!.failed.length > 0);
          assert.ok(result.result!.failed.every((f) => /^403 Forbidden/.test(f.reason)));
        } else if (c.reason === "partial-or-drained") {
          assert.ok(["drained", "partial"].includes(drain.status), JSON.stringify(drain));
          assert.equal(result.result!.cordon?.status, "failed");
          assert.match(result.result!.cordon!.message!, c.fix);
          // The drain ran at once with the pods' normal grace, not 1 s at the deadline.
          const graces = stack.api.evictions().map((e) => e.gracePeriodSeconds ?? 30);
          assert.ok(graces.length > 0 && graces.every((g) => g > 20), String(graces));
        } else {
          assert.equal(drain.status, "not-run");
          assert.equal(drain.reason, c.reason);
          assert.equal(result.result!.drained, false);
          assert.equal(stack.api.evictions().length, 0);
        }
        const line = await handler.waitForLine(/ERROR .*failed for good/);
        assert.match(line, c.fix);
      },
    );
  });
}

interface TransientCase {
  name: string;
  failures?: FakeFailure[];
  /** Point the kubeconfig somewhere else (a closed port, a server that never answers). */
  server?: () => Promise<{ url: string; close: () => void }>;
}

function closedPort(): Promise<{ url: string; close: () => void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return Promise.resolve({ url: `http://127.0.0.1:${port}`, close: () => {} });
}

function silentServer(): Promise<{ url: string; close: () => void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return Promise.resolve({
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    close: () => {
      listener.close();
      for (const c of held) c.close();
    },
  });
}

const TRANSIENT: TransientCase[] = [
  { name: "connection refused", server: closedPort },
  { name: "an API that accepts the connection and never answers", server: silentServer },
  {
    name: "500 on every node and pod call",
    failures: [
      { verb: "get", resource: "nodes", status: 500, times: Infinity },
      { verb: "patch", resource: "nodes", status: 500, times: Infinity },
      { verb: "list", resource: "pods", status: 500, times: Infinity },
    ],
  },
];

for (const c of TRANSIENT) {
  Deno.test(`e2e: ${c.name}: start message and ASG detach at once, the Kubernetes steps keep retrying`, async () => {
    const other = await c.server?.();
    try {
      await withHandler(
        {
          node: NODE,
          api: { pods: demoPods(NODE), failures: c.failures },
          imds: { scenario: spotInAMinute() },
        },
        (stack) => {
          if (other) {
            const text = Deno.readTextFileSync(stack.kubeconfig).replace(stack.api.url, other.url);
            Deno.writeTextFileSync(stack.kubeconfig, text);
          }
          return { DETACH_ASG: "true" };
        },
        async (stack, handler) => {
          await startAndDetachGoOut(stack, handler);
          await handler.waitForLine(/WARN .*retrying until the deadline/, 20_000);
          assert.equal(webhookEvents(stack).length, 1, "no result before the deadline");
          assert.ok(
            !handler.lines.some((l) => /failed for good/.test(l)),
            "transient, not permanent",
          );
          // A graceful stop would finish the notice at its deadline, a minute away.
          handler.kill("SIGKILL");
        },
      );
    } finally {
      other?.close();
    }
  });
}

Deno.test("e2e: --check names the verb the ClusterRole lacks and exits 1; with every grant it exits 0", async () => {
  for (
    const [failures, code] of [[[{
      verb: "create",
      resource: "pods",
      subresource: "eviction",
      status: 403,
      times: Infinity,
    }], 1], [[], 0]] as const
  ) {
    const stackRun = async () => {
      const stack = await startStack({ node: NODE, api: { failures: [...failures] } });
      try {
        const handler = spawnHandler({
          kubeconfig: stack.kubeconfig,
          env: stack.env,
          args: ["--check"],
        });
        const status = await handler.status;
        assert.equal(status.code, code, handler.lines.join("\n"));
        if (code === 1) {
          assert.ok(
            handler.lines.some((l) =>
              l.startsWith("FAIL  rbac: not granted: create pods/eviction")
            ),
            handler.lines.join("\n"),
          );
        } else assert.equal(handler.lines.at(-1), "all checks passed");
        assert.ok(handler.lines.some((l) => l.startsWith("ok    kubernetes-api")));
      } finally {
        await stack.close();
      }
    };
    await stackRun();
  }
});

Deno.test("e2e: --test-notification sends one message marked as a test and prints the outcome", async () => {
  const stack = await startStack({ node: NODE });
  try {
    const handler = spawnHandler({
      kubeconfig: stack.kubeconfig,
      env: stack.env,
      args: ["--test-notification"],
    });
    const status = await handler.status;
    assert.equal(status.code, 0, handler.lines.join("\n"));
    assert.ok(handler.lines.includes("ok    webhook (1 attempt)"), handler.lines.join("\n"));
    const events = webhookEvents(stack);
    assert.equal(events.length, 1);
    assert.equal(events[0].test, true);
    assert.equal(stack.api.requests.filter((r) => r.verb !== "get").length, 0);
  } finally {
    await stack.close();
  }
});
