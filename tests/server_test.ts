import assert from "node:assert/strict";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { route, startServer } from "../lib/server.ts";

Deno.test("server answers /healthz, /readyz and /metrics over HTTP", async () => {
  const metrics = createMetrics();
  metrics.inc("sth_imds_polls_total");
  let healthy = true;
  let ready = false;
  const server = startServer({
    port: 0,
    hostname: "127.0.0.1",
    metrics,
    logger: createMemoryLogger(),
    healthy: () => healthy,
    ready: () => ready,
  });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    let r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /IMDS/);
    ready = true;
    healthy = false;
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 503);
    await r.body?.cancel();
    r = await fetch(`${base}/metrics`);
    assert.match(r.headers.get("content-type")!, /^text\/plain; version=0.0.4/);
    assert.match(await r.text(), /^sth_imds_polls_total 1$/m);
  } finally {
    await server.close();
  }
});

Deno.test("server rejects other paths and methods", () => {
  const opts = { metrics: createMetrics(), healthy: () => true, ready: () => true };
  assert.equal(route(new Request("http://x/nope"), opts).status, 404);
  assert.equal(route(new Request("http://x/metrics", { method: "POST" }), opts).status, 405);
});
