/**
 * main.ts as a subprocess with the shipped permissions against the careless-operator and
 * hostile-node cases of issue 11: invalid values exit 2 with every problem at once, "off"-looking
 * DETACH_ASG values warn, and a metrics port held by someone else costs the listener only.
 */
import assert from "node:assert/strict";
import { demoPods } from "../tools/fake_apiserver.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { withHandler } from "../tools/stack.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

Deno.test("e2e: hostile values exit 2 with one config error line each, all at once, no secret", async () => {
  const handler = spawnHandler({
    env: {
      NODE_NAME: "ip-10-0-1-23\n2026-11-25T10:00:00.000Z INFO  notice handled",
      POLL_INTERVAL: "0x10",
      GRACE_PERIOD: "0x1e",
      METRICS_PORT: "9092.",
      METRICS_ADDRESS: "everywhere",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://imds:imdsSECRET@127.0.0.1:1338/?x=1",
      KUBECONFIG: "/nonexistent/kubeconfig",
    },
  });
  const status = await handler.status;
  assert.equal(status.code, 2);
  const problems = handler.lines.filter((l) => l.startsWith("config error: "));
  assert.deepEqual(
    problems.map((l) => l.slice("config error: ".length).split(":")[0]).sort(),
    [
      "AWS_EC2_METADATA_SERVICE_ENDPOINT",
      "GRACE_PERIOD",
      "KUBECONFIG",
      "METRICS_ADDRESS",
      "METRICS_PORT",
      "NODE_NAME",
      "POLL_INTERVAL",
    ],
  );
  const output = handler.lines.join("\n");
  assert.ok(!output.includes("imdsSECRET"), output);
  assert.ok(!/^\S+ INFO {2}notice handled/m.test(output), "no forged line");
  assert.ok(!/Uncaught|at file:/.test(output), "no stack trace");
  assert.match(output, /KUBECONFIG: "\/nonexistent\/kubeconfig" cannot be read/);
});

Deno.test("e2e: DETACH_ASG=0 warns at start-up that it turns detach on", async () => {
  await withHandler({ node: NODE }, { DETACH_ASG: "0" }, async (_stack, handler) => {
    const line = await handler.waitForLine(/WARN .*DETACH_ASG/);
    assert.match(line, /turns ASG detach ON/);
    assert.match(line, /DETACH_ASG=false/);
    await handler.waitForLine(/INFO {2}configuration .*detachAsg=true/);
  });
});

Deno.test("e2e: a metrics port in use is one error line; notices are still handled", async () => {
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (holder.addr as Deno.NetAddr).port;
  try {
    await withHandler(
      { node: NODE, api: { pods: demoPods(NODE) } },
      { METRICS_PORT: String(port) },
      async (stack, handler) => {
        const line = await handler.waitForLine(/ERROR .*cannot listen/);
        assert.match(line, new RegExp(`127\\.0\\.0\\.1:${port}`));
        assert.match(line, /port is in use/);
        stack.imds.setScenario({ spot: { action: "terminate" } });
        await handler.waitForLine(/notice handled/, 60_000);
        assert.equal(stack.api.evictions().length > 0, true, "the drain ran");
        assert.equal(handler.lines.filter((l) => /cannot listen/.test(l)).length, 1);
        assert.ok(!handler.lines.some((l) => /Uncaught|AddrInUse/.test(l)), "no stack trace");
        const status = await handler.stop();
        assert.equal(status.code, 0);
      },
    );
  } finally {
    holder.close();
  }
});
