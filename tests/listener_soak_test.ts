/**
 * Soak: the handler (main.ts with the shipped permissions) under thousands of idle and slowloris
 * connections on its health listener, while a spot notice is detected and handled. Bounded:
 * 2,000 connections held at once, 12,000 opened in total.
 */
import assert from "node:assert/strict";
import { readProcFile } from "../bench/procfs.ts";
import { demoPods } from "../tools/fake_apiserver.ts";
import { startSlowloris } from "../tools/slowloris.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { startStack } from "../tools/stack.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

/** Read through bench/procfs.ts: under the test task's flags /proc is read with `cat`. */
async function rssMiB(pid: number): Promise<number> {
  const status = await readProcFile(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function healthz(port: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  await r.body?.cancel();
  return r.status;
}

Deno.test({
  name: "soak: 2,000 idle and slow connections do not slow detection or drain, RSS stays bounded",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const stack = await startStack({ node: NODE, api: { pods: demoPods(NODE) } });
    const port = freePort();
    const handler = spawnHandler({
      kubeconfig: stack.kubeconfig,
      env: { ...stack.env, METRICS_PORT: String(port), METRICS_ADDRESS: "127.0.0.1" },
    });
    const attack = startSlowloris({
      hostname: "127.0.0.1",
      port,
      idle: 1000,
      slow: 1000,
      intervalMs: 200,
      maxTotal: 12_000,
    });
    try {
      await handler.waitForLine(/health and metrics listening/);
      await handler.waitForLine(/instance identity/);
      const before = await rssMiB(handler.pid);

      // Phase 1: the flood alone.
      await attack.opened(4000);
      const underAttack = await rssMiB(handler.pid);
      assert.equal(await healthz(port), 200, "a probe gets through during the flood");

      // Phase 2: a spot notice while the flood goes on.
      const noticeAt = Date.now();
      stack.imds.setScenario({ spot: { action: "terminate" } });
      const detected = await handler.waitForLine(/handling notice/, 30_000);
      const detectedAfterMs = Date.now() - noticeAt;
      await stack.sink.waitFor(2, { pathPrefix: "/webhook", timeoutMs: 60_000 });
      await handler.waitForLine(/notice handled/, 60_000);
      const handledAfterMs = Date.now() - noticeAt;
      const openedDuringNotice = attack.stats.opened;

      assert.match(detected, /kind=spot-interruption/);
      const evicted = new Set(stack.api.evictions().map((e) => `${e.namespace}/${e.name}`));
      assert.equal(evicted.size, 5, "every evictable demo pod was evicted");
      assert.equal(await healthz(port), 200, "still answering after the notice");
      const after = await rssMiB(handler.pid);
      assert.ok(
        underAttack - before < 25,
        `RSS under the flood ${underAttack.toFixed(1)} MiB vs ${before.toFixed(1)} MiB before`,
      );
      assert.ok(after < 320, `RSS ${after.toFixed(1)} MiB stays under the pod's 320 MiB limit`);
      assert.ok(
        !handler.lines.some((l) => /Too many open files|Uncaught|panicked/.test(l)),
        "no crash",
      );
      // Measurements for the report, not assertions (speed belongs to the bench).
      console.log(
        `soak: RSS before ${before.toFixed(1)} MiB, under 4000 connections ${
          underAttack.toFixed(1)
        } MiB, after the notice ${
          after.toFixed(1)
        } MiB; notice detected after ${detectedAfterMs} ms, handled after ${handledAfterMs} ms; ${openedDuringNotice} connections opened by then (${attack.stats.closedByServer} closed by the server)`,
      );
    } finally {
      await attack.stop();
      const status = await handler.stop();
      await stack.close();
      assert.equal(status.code, 0, "SIGTERM ends it cleanly: the process was alive to the end");
    }
  },
});
