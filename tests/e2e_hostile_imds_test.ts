/**
 * End to end against a hostile IMDS stand-in: main.ts as a subprocess with the shipped
 * permissions, polled against 100 MB and endless answers and against redirects to another
 * loopback port. It must stay alive, log each as one `kind=` warning, keep its memory flat, never
 * send anything (its token least of all) to the other host, and still handle a notice after.
 */
import assert from "node:assert/strict";
import { findPid, sampleProcess } from "../bench/procfs.ts";
import { demoPods } from "../tools/fake_apiserver.ts";
import { startTokenTrap } from "../tools/hostile_imds.ts";
import { NOTICE_PATHS } from "../lib/sources.ts";
import { spawnHandler, startStack } from "../tools/stack.ts";
import { waitFor } from "../tools/wait.ts";

const NODE = "ip-10-0-1-23.ec2.internal";
const MIB = 1_048_576;
// Idle, the handler holds about 50 MiB; one unbounded 100 MB answer took it past 600 MiB and an
// endless one to 2.7 GB. A generous bound: only an unbounded read can cross it.
const MEMORY_BOUND = 150 * MIB;

Deno.test("e2e: endless and 100 MB IMDS answers are cut at the byte limit, memory stays flat, the handler lives on", async () => {
  const stack = await startStack({ node: NODE, api: { pods: demoPods(NODE) } });
  const handler = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
  try {
    await handler.waitForLine(/instance identity/);
    const pid = await findPid(stack.kubeconfig);
    const served = (path: string) =>
      stack.imds.requests.filter((r) => r.path === `/latest/${path}` && r.status === 200).length;

    // Each path backs off on its own, so two paths give four hostile answers in about 2 s.
    const endlessBefore = served(NOTICE_PATHS.instanceAction);
    stack.imds.fault({ body: "endless", path: NOTICE_PATHS.instanceAction, times: 2 });
    await handler.waitForLine(
      /WARN {2}IMDS poll failed path=meta-data\/spot\/instance-action kind=too_large/,
    );
    await waitFor(
      "two endless answers served",
      () => served(NOTICE_PATHS.instanceAction) >= endlessBefore + 2,
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const hugeBefore = served(NOTICE_PATHS.terminationTime);
    stack.imds.fault({ body: "huge", path: NOTICE_PATHS.terminationTime, times: 2 });
    await handler.waitForLine(
      /WARN {2}IMDS poll failed path=meta-data\/spot\/termination-time kind=too_large/,
    );
    await waitFor(
      "two 100 MB answers served",
      () => served(NOTICE_PATHS.terminationTime) >= hugeBefore + 2,
      { timeoutMs: 10_000, intervalMs: 50 },
    );

    const memory = await sampleProcess(pid);
    assert.ok(
      memory.hwm < MEMORY_BOUND,
      `VmHWM ${(memory.hwm / MIB).toFixed(1)} MiB, bound ${MEMORY_BOUND / MIB} MiB`,
    );
    assert.ok(memory.rss < MEMORY_BOUND, `VmRSS ${(memory.rss / MIB).toFixed(1)} MiB`);

    // Still polling, and still doing its job.
    stack.imds.setScenario({ spot: { afterMs: 0 } });
    await handler.waitForLine(/notice handled/, 30_000);
    assert.ok(!handler.lines.some((l) => /uncaught|panic/i.test(l)), handler.lines.join("\n"));
    assert.equal((await handler.stop()).code, 0);
  } finally {
    await handler.stop();
    await stack.close();
  }
});

Deno.test("e2e: IMDS redirects on the token PUT and on a GET are errors; the other host gets nothing", async () => {
  const stack = await startStack({
    node: NODE,
    api: { pods: demoPods(NODE) },
    imds: { requireToken: true },
  });
  const trap = startTokenTrap();
  const handler = spawnHandler({ kubeconfig: stack.kubeconfig, env: stack.env });
  try {
    await handler.waitForLine(/instance identity/);

    // The next PUT (after the token is refused) is redirected to the trap.
    stack.imds.fault({ redirect: `${trap.url}/latest/api/token`, path: "api/token", times: 1 });
    stack.imds.expireTokens();
    await handler.waitForLine(
      /WARN {2}IMDS poll failed path=meta-data\/spot\/instance-action kind=redirect .*error="IMDS api\/token: redirected \(HTTP 307\)/,
    );
    await handler.waitForLine(/INFO {2}IMDS poll recovered path=meta-data\/spot\/instance-action/);

    // Then a GET carrying the token is redirected.
    stack.imds.fault({
      redirect: `${trap.url}/latest/${NOTICE_PATHS.instanceAction}`,
      path: NOTICE_PATHS.instanceAction,
      times: 1,
    });
    await handler.waitForLine(
      /WARN {2}IMDS poll failed path=meta-data\/spot\/instance-action kind=redirect .*error="IMDS meta-data\/spot\/instance-action: redirected \(HTTP 307\)/,
    );
    const redirected = stack.imds.requests.filter((r) => r.status === 307);
    assert.equal(redirected.length, 2);
    assert.ok(redirected[1].hadToken, "the redirected GET carried the token to IMDS itself");
    assert.deepEqual(trap.requests, [], "no request, so no token, reached the other host");

    stack.imds.setScenario({ spot: { afterMs: 0 } });
    await handler.waitForLine(/notice handled/, 30_000);
    assert.deepEqual(trap.requests, []);
  } finally {
    await handler.stop();
    await trap.close();
    await stack.close();
  }
});
