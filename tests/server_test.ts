import assert from "node:assert/strict";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { keepListening, ListenError, startServer } from "../lib/server.ts";
import { route } from "../lib/server_routes.ts";
import { waitFor } from "../tools/wait.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Read from `conn` until the peer closes it; the bytes as text. */
async function readAll(conn: Deno.Conn): Promise<string> {
  const chunks: string[] = [];
  const buf = new Uint8Array(4096);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(decoder.decode(buf.subarray(0, n)));
    }
  } catch {
    // A reset counts as closed.
  }
  return chunks.join("");
}

function options() {
  return {
    port: 0,
    hostname: "127.0.0.1",
    metrics: createMetrics(),
    logger: createMemoryLogger(),
    healthy: () => true,
    ready: (): boolean | string => true,
  };
}

Deno.test("server answers /healthz, /readyz and /metrics over HTTP", async () => {
  const metrics = createMetrics();
  metrics.inc("sth_imds_polls_total");
  let healthy = true;
  let ready: boolean | string = false;
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
    ready = "preflight: pods/eviction create is forbidden";
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 503);
    assert.equal(await r.text(), "not ready: preflight: pods/eviction create is forbidden\n");
    ready = true;
    healthy = false;
    r = await fetch(`${base}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok\n");
    r = await fetch(`${base}/healthz`);
    assert.equal(r.status, 503);
    await r.body?.cancel();
    r = await fetch(`${base}/metrics`);
    assert.match(r.headers.get("content-type")!, /^text\/plain; version=0.0.4/);
    assert.match(await r.text(), /^sth_imds_polls_total 1$/m);
    r = await fetch(`${base}/metrics`, { method: "HEAD" });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "");
  } finally {
    await server.close();
  }
});

Deno.test("server rejects other paths and methods", () => {
  const opts = { metrics: createMetrics(), healthy: () => true, ready: () => true };
  assert.equal(route(new Request("http://x/nope"), opts).status, 404);
  assert.equal(route(new Request("http://x/metrics", { method: "POST" }), opts).status, 405);
});

Deno.test("a readiness reason never breaks the response into extra lines", async () => {
  const opts = { metrics: createMetrics(), healthy: () => true, ready: () => "a\r\nb" };
  const r = route(new Request("http://x/readyz"), opts);
  assert.equal(await r.text(), "not ready: a b\n");
});

Deno.test("keep-alive and pipelined requests on one connection, then HTTP/1.0 closes", async () => {
  const server = startServer(options());
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(encoder.encode(
      "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\nGET /readyz?x=1 HTTP/1.1\r\nhost: x\r\n\r\n" +
        "GET /nope HTTP/1.0\r\n\r\n",
    ));
    const text = await readAll(conn);
    conn.close();
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ["200", "200", "404"]);
  } finally {
    await server.close();
  }
});

Deno.test("a request head over the byte limit gets 431 and the connection closed", async () => {
  const server = startServer({ ...options(), maxHeaderBytes: 512 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(encoder.encode(`GET /healthz HTTP/1.1\r\nx: ${"a".repeat(600)}\r\n\r\n`));
    const text = await readAll(conn);
    conn.close();
    assert.match(text, /^HTTP\/1\.1 431 /);
  } finally {
    await server.close();
  }
});

Deno.test("garbage and bodies are refused with 400 and a close", async () => {
  const server = startServer(options());
  try {
    for (
      const raw of [
        "HELLO\r\n\r\n",
        "POST /healthz HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc",
        "GET /healthz HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
      ]
    ) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(encoder.encode(raw));
      const text = await readAll(conn);
      conn.close();
      assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(raw));
    }
  } finally {
    await server.close();
  }
});

Deno.test("a connection that sends nothing, or too slowly, is closed at the header deadline", async () => {
  const server = startServer({ ...options(), headerTimeoutMs: 200, idleTimeoutMs: 200 });
  try {
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await slow.write(encoder.encode("GET /healthz HTTP/1.1\r\nx-a"));
    // Each read ends when the server closes the connection: no response was ever written.
    assert.equal(await readAll(silent), "");
    assert.equal(await readAll(slow), "");
    silent.close();
    slow.close();
  } finally {
    await server.close();
  }
});

Deno.test("at the connection cap the longest-waiting connection makes room for a new one", async () => {
  const server = startServer({ ...options(), maxConnections: 4, headerTimeoutMs: 60_000 });
  const idle: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      idle.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    // A probe still gets through although 20 connections sit idle against a cap of 4.
    const r = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    // The oldest idle ones were closed by the server (their reads end).
    assert.equal(await readAll(idle[0]), "");
  } finally {
    for (const c of idle) c.close();
    await server.close();
  }
});

Deno.test("accept errors (EMFILE) are logged and survived", async () => {
  const logger = createMemoryLogger();
  let failures = 3;
  const server = startServer({
    ...options(),
    logger,
    listen: (o) => {
      const real = Deno.listen(o);
      return new Proxy(real, {
        get(target, key) {
          if (key === "accept") {
            return () => {
              if (failures-- > 0) {
                return Promise.reject(new Error("Too many open files (os error 24)"));
              }
              return target.accept();
            };
          }
          const value = Reflect.get(target, key, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    },
  });
  try {
    const r = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    const warned = logger.lines.filter((l) => /cannot accept connections/.test(l));
    assert.equal(warned.length, 1, "one line, not one per failure");
    assert.match(warned[0], /Too many open files/);
  } finally {
    await server.close();
  }
});

Deno.test("a port in use is a ListenError naming the address", () => {
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (holder.addr as Deno.NetAddr).port;
    assert.throws(() => startServer({ ...options(), port }), (error: unknown) => {
      assert.ok(error instanceof ListenError);
      assert.equal(error.code, "AddrInUse");
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  } finally {
    holder.close();
  }
});

Deno.test("keepListening logs one error for a port in use and binds once it is free", async () => {
  const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (holder.addr as Deno.NetAddr).port;
  const logger = createMemoryLogger();
  const controller = new AbortController();
  const health = keepListening({
    ...options(),
    port,
    logger,
    signal: controller.signal,
    retryMs: 20,
  });
  try {
    await waitFor("the error line", () => logger.lines.some((l) => / ERROR /.test(l)), {
      timeoutMs: 10_000,
    });
    const errors = logger.lines.filter((l) => / ERROR /.test(l));
    assert.equal(errors.length, 1);
    assert.match(errors[0], new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
    assert.match(errors[0], /port is in use .*METRICS_PORT/);
    assert.match(errors[0], /keeps watching for notices/);
    holder.close();
    await waitFor(
      "the listener bound",
      () => logger.lines.some((l) => /health and metrics listening/.test(l)),
      { timeoutMs: 10_000 },
    );
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(r.status, 200);
    await r.body?.cancel();
    assert.equal(logger.lines.filter((l) => / ERROR /.test(l)).length, 1, "retries are quiet");
  } finally {
    try {
      holder.close();
    } catch {
      // Closed above.
    }
    controller.abort();
    await health.finished;
  }
});
