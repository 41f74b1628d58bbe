import assert from "node:assert/strict";
import { createImds, regionFromAvailabilityZone } from "../lib/imds.ts";
import { ImdsError, MAX_BODY_BYTES } from "../lib/imds_http.ts";
import { V2_RETRY_MS } from "../lib/imds_token.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { startMockImds } from "../tools/mock_imds.ts";
import type { MockImds } from "../tools/mock_imds.ts";
import { startTokenTrap } from "../tools/hostile_imds.ts";

const SPOT = "meta-data/spot/instance-action";

function count(mock: MockImds, method: string, path = "/latest/api/token"): number {
  return mock.requests.filter((r) => r.method === method && r.path === path).length;
}

function lastGet(mock: MockImds) {
  return mock.requests.filter((r) => r.method === "GET").at(-1);
}

/** Records every token the client sends, so tests can prove none leaks into messages. */
function recordingFetch() {
  const tokens = new Set<string>();
  const wrapped: typeof fetch = (input, init) => {
    const token = new Headers(init?.headers).get("x-aws-ec2-metadata-token");
    if (token) tokens.add(token);
    return fetch(input, init);
  };
  return { fetch: wrapped, tokens };
}

async function rejection(promise: Promise<unknown>): Promise<ImdsError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ImdsError, `expected ImdsError, got ${err}`);
    return err;
  }
  assert.fail("expected a rejection");
}

Deno.test("imds.get fetches one token, sends it on every request and returns 200 and 404", async () => {
  const mock = startMockImds({ requireToken: true, scenario: { spot: {} } });
  try {
    const imds = createImds({ endpoint: mock.url });
    const spot = await imds.get(SPOT);
    assert.equal(spot.status, 200);
    assert.equal(JSON.parse(spot.body).action, "terminate");
    const none = await imds.get("/meta-data/events/recommendations/rebalance");
    assert.equal(none.status, 404);
    assert.equal(count(mock, "PUT"), 1);
    assert.ok(mock.requests.filter((r) => r.method === "GET").every((r) => r.hadToken));
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get shares one token PUT among concurrent requests", async () => {
  const mock = startMockImds({ requireToken: true });
  try {
    const imds = createImds({ endpoint: `${mock.url}/` });
    const answers = await Promise.all(
      ["instance-id", "instance-type", "placement/region", "spot/instance-action", "ami-id"].map(
        (p) => imds.get(`meta-data/${p}`),
      ),
    );
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 404, 404]);
    assert.equal(count(mock, "PUT"), 1);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get reuses the token until 80% of its TTL, then refreshes it", async () => {
  let now = 0;
  const mock = startMockImds({ requireToken: true, now: () => now });
  try {
    const imds = createImds({ endpoint: mock.url, now: () => new Date(now), tokenTtlSeconds: 100 });
    await imds.get("meta-data/instance-id");
    now = 79_999;
    await imds.get("meta-data/instance-id");
    assert.equal(count(mock, "PUT"), 1);
    now = 80_000;
    await imds.get("meta-data/instance-id");
    assert.equal(count(mock, "PUT"), 2);
    now = 159_999;
    await imds.get("meta-data/instance-id");
    assert.equal(count(mock, "PUT"), 2);
    assert.ok(mock.requests.every((r) => r.status === 200));
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get keeps a still-valid token when its refresh fails", async () => {
  let now = 0;
  const mock = startMockImds({ requireToken: true, now: () => now });
  try {
    const imds = createImds({ endpoint: mock.url, now: () => new Date(now), tokenTtlSeconds: 100 });
    await imds.get("meta-data/instance-id");
    now = 90_000;
    mock.fault({ status: 500, path: "api/token", times: 1 });
    const res = await imds.get("meta-data/instance-id");
    assert.equal(res.status, 200);
    assert.equal(lastGet(mock)?.status, 200);
    assert.equal(count(mock, "PUT"), 2);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get keeps a still-valid token when its refresh times out", async () => {
  let now = 0;
  const mock = startMockImds({ requireToken: true, now: () => now });
  const logger = createMemoryLogger();
  try {
    const imds = createImds({
      endpoint: mock.url,
      now: () => new Date(now),
      tokenTtlSeconds: 100,
      timeoutMs: 500,
      logger,
    });
    await imds.get("meta-data/instance-id");
    now = 90_000;
    mock.fault({ hang: true, path: "api/token", times: 1 });
    assert.equal((await imds.get("meta-data/instance-id")).status, 200);
    assert.deepEqual(
      mock.requests.map((r) => `${r.method} ${r.hadToken} ${r.status}`),
      ["PUT false 200", "GET true 200", "PUT false 0", "GET true 200"],
    );
    assert.ok(!logger.lines.some((l) => l.includes("IMDSv1")), "no fallback to IMDSv1");
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get fetches a fresh token and retries once on 401", async () => {
  const mock = startMockImds({ requireToken: true });
  try {
    const imds = createImds({ endpoint: mock.url });
    await imds.get("meta-data/instance-id");
    mock.expireTokens();
    const res = await imds.get("meta-data/instance-type");
    assert.deepEqual(res, { status: 200, body: "m5.large" });
    assert.equal(count(mock, "PUT"), 2);
    const statuses = mock.requests.filter((r) => r.path.endsWith("instance-type"))
      .map((r) => r.status);
    assert.deepEqual(statuses, [401, 200]);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get refreshes an expired token once for concurrent requests", async () => {
  const mock = startMockImds({ requireToken: true });
  try {
    const imds = createImds({ endpoint: mock.url });
    await imds.get("meta-data/instance-id");
    mock.expireTokens();
    const paths = ["instance-id", "instance-type", "placement/region", "ami-id"];
    const answers = await Promise.all(paths.map((p) => imds.get(`meta-data/${p}`)));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 404]);
    assert.equal(count(mock, "PUT"), 2);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get rejects with an http error when the retry after 401 is refused too", async () => {
  const mock = startMockImds({ requireToken: true });
  try {
    const imds = createImds({ endpoint: mock.url });
    mock.fault({ status: 401, path: "meta-data/instance-id" });
    const err = await rejection(imds.get("meta-data/instance-id"));
    assert.equal(err.kind, "http");
    assert.equal(err.status, 401);
    assert.equal(count(mock, "GET", "/latest/meta-data/instance-id"), 2, "exactly one retry");
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get rejects 5xx answers with the status and the path, never the token", async () => {
  const mock = startMockImds({ requireToken: true });
  const logger = createMemoryLogger();
  const rec = recordingFetch();
  try {
    const imds = createImds({ endpoint: mock.url, fetch: rec.fetch, logger });
    mock.fault({ status: 503, path: SPOT });
    const err = await rejection(imds.get(SPOT));
    assert.equal(err.kind, "http");
    assert.equal(err.status, 503);
    assert.equal(err.path, SPOT);
    assert.match(err.message, /meta-data\/spot\/instance-action/);
    assert.equal(rec.tokens.size, 1);
    for (const token of rec.tokens) {
      assert.ok(!err.message.includes(token));
      assert.ok(!logger.lines.join("\n").includes(token));
    }
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get times out against a hanging IMDS instead of waiting forever", async () => {
  const mock = startMockImds();
  try {
    const imds = createImds({ endpoint: mock.url, timeoutMs: 500 });
    mock.fault({ hang: true, path: SPOT });
    const err = await rejection(imds.get(SPOT));
    assert.equal(err.kind, "timeout");
    assert.match(err.message, /meta-data\/spot\/instance-action: no answer within 500 ms/);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get times out when even the token PUT hangs", async () => {
  const mock = startMockImds();
  try {
    mock.fault({ hang: true });
    const withV1 = await rejection(createImds({ endpoint: mock.url, timeoutMs: 100 }).get(SPOT));
    assert.equal(withV1.kind, "timeout");
    assert.equal(withV1.path, SPOT);
    const v2Only = createImds({ endpoint: mock.url, timeoutMs: 100, v1Fallback: false });
    const err = await rejection(v2Only.get(SPOT));
    assert.equal(err.kind, "token");
    assert.match(err.message, /api\/token.*no answer within 100 ms.*fallback is disabled/);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get reports a refused connection as kind refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const imds = createImds({ endpoint: `http://127.0.0.1:${port}`, v1Fallback: true });
  const err = await rejection(imds.get(SPOT));
  assert.equal(err.kind, "refused");
  assert.match(err.message, /meta-data\/spot\/instance-action/);
});

for (const status of [403, 404, 405]) {
  Deno.test(`imds.get falls back to IMDSv1 when the token PUT answers ${status}, warning once`, async () => {
    const mock = startMockImds({ scenario: { spot: {} } });
    const logger = createMemoryLogger();
    try {
      mock.fault({ status, path: "api/token" });
      const imds = createImds({ endpoint: mock.url, logger });
      assert.equal((await imds.get(SPOT)).status, 200);
      assert.equal((await imds.get(SPOT)).status, 200);
      assert.equal(count(mock, "PUT"), 1, "no PUT per poll while on IMDSv1");
      assert.ok(mock.requests.filter((r) => r.method === "GET").every((r) => !r.hadToken));
      const warnings = logger.lines.filter((l) => l.includes("WARN"));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], new RegExp(`using IMDSv1 reason="HTTP ${status}"`));
    } finally {
      await mock.close();
    }
  });
}

Deno.test("imds.get falls back to IMDSv1 when the token PUT fails at the network level", async () => {
  const mock = startMockImds();
  try {
    const fetchNoPut: typeof fetch = (input, init) =>
      init?.method === "PUT"
        ? Promise.reject(new TypeError("connection reset"))
        : fetch(input, init);
    const imds = createImds({ endpoint: mock.url, fetch: fetchNoPut });
    assert.equal((await imds.get("meta-data/instance-id")).body, "i-1234567890abcdef0");
    assert.equal(lastGet(mock)?.hadToken, false);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get refuses IMDSv1 when v1Fallback is false", async () => {
  const mock = startMockImds();
  try {
    mock.fault({ status: 403, path: "api/token" });
    const imds = createImds({ endpoint: mock.url, v1Fallback: false });
    const err = await rejection(imds.get(SPOT));
    assert.equal(err.kind, "token");
    assert.equal(err.status, 403);
    assert.match(err.message, /api\/token: no IMDSv2 token \(HTTP 403\).*fallback is disabled/);
    assert.equal(count(mock, "GET", `/latest/${SPOT}`), 0, "no IMDSv1 request was sent");
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get tries IMDSv2 again every five minutes after falling back, logging changes once", async () => {
  let now = 0;
  const mock = startMockImds({ now: () => now });
  const logger = createMemoryLogger();
  try {
    const imds = createImds({ endpoint: mock.url, now: () => new Date(now), logger });
    mock.fault({ status: 404, path: "api/token", times: 2 });
    await imds.get("meta-data/instance-id");
    now = V2_RETRY_MS - 1;
    await imds.get("meta-data/instance-id");
    assert.equal(count(mock, "PUT"), 1);
    assert.equal(lastGet(mock)?.hadToken, false);
    now = V2_RETRY_MS;
    await imds.get("meta-data/instance-id");
    assert.equal(count(mock, "PUT"), 2, "tried again, still refused");
    assert.equal(lastGet(mock)?.hadToken, false);
    now = 2 * V2_RETRY_MS;
    await imds.get("meta-data/instance-id");
    assert.equal(count(mock, "PUT"), 3);
    assert.equal(lastGet(mock)?.hadToken, true);
    const modeLines = logger.lines.filter((l) => / (WARN|INFO) /.test(l));
    assert.equal(modeLines.length, 2, modeLines.join("\n"));
    assert.match(modeLines[0], /WARN +IMDSv2 token unavailable, using IMDSv1/);
    assert.match(modeLines[1], /INFO +IMDSv2 available again/);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get switches to IMDSv2 at once when IMDSv1 requests start getting 401", async () => {
  const mock = startMockImds({ requireToken: true });
  try {
    const imds = createImds({ endpoint: mock.url });
    mock.fault({ status: 405, path: "api/token", times: 1 });
    const res = await imds.get("meta-data/instance-id");
    assert.equal(res.status, 200);
    assert.deepEqual(
      mock.requests.map((r) => `${r.method} ${r.hadToken} ${r.status}`),
      ["PUT false 405", "GET false 401", "PUT false 200", "GET true 200"],
    );
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get rejects with kind aborted when the caller aborts a request in flight", async () => {
  const mock = startMockImds();
  const started = Promise.withResolvers<void>();
  try {
    const imds = createImds({
      endpoint: mock.url,
      timeoutMs: 60_000,
      fetch: (input, init) => {
        if (String(input).endsWith(SPOT)) started.resolve();
        return fetch(input, init);
      },
    });
    mock.fault({ hang: true, path: SPOT });
    const controller = new AbortController();
    const pending = rejection(imds.get(SPOT, { signal: controller.signal }));
    await started.promise;
    controller.abort();
    assert.equal((await pending).kind, "aborted");

    const before = mock.requests.length;
    const err = await rejection(imds.get(SPOT, { signal: AbortSignal.abort() }));
    assert.equal(err.kind, "aborted");
    assert.equal(mock.requests.length, before, "nothing sent for an already aborted signal");
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get leaves nothing attached to the caller's long-lived signal after a request", async () => {
  // The poll loop passes one signal for the life of the process; whatever a request hangs on it
  // must come off again, or it stays reachable until V8's next full collection (as every signal
  // AbortSignal.any makes does).
  const mock = startMockImds({ requireToken: true, scenario: { spot: {} } });
  const controller = new AbortController();
  const attached = new Set<unknown>();
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (type: string, listener: unknown, options?: unknown) => {
    if (type === "abort") attached.add(listener);
    add(type, listener as EventListener, options as AddEventListenerOptions);
  };
  signal.removeEventListener = (type: string, listener: unknown, options?: unknown) => {
    if (type === "abort") attached.delete(listener);
    remove(type, listener as EventListener, options as EventListenerOptions);
  };
  const any = AbortSignal.any;
  AbortSignal.any = () => {
    throw new Error("AbortSignal.any ties every request to the caller's signal");
  };
  try {
    const imds = createImds({ endpoint: mock.url });
    for (let i = 0; i < 3; i++) {
      const [hit, miss] = await Promise.all([
        imds.get(SPOT, { signal }),
        imds.get("meta-data/events/recommendations/rebalance", { signal }),
      ]);
      assert.deepEqual([hit.status, miss.status], [200, 404]);
    }
    assert.equal(attached.size, 0, "every abort listener was removed");
  } finally {
    AbortSignal.any = any;
    await mock.close();
  }
});

Deno.test("imds.get sends the token to an absolute URL on the IMDS origin only", async () => {
  const mock = startMockImds({ requireToken: true, scenario: { spot: {} } });
  const other = startMockImds({ scenario: { spot: {} } });
  try {
    const imds = createImds({ endpoint: mock.url });
    const same = await imds.get(`${mock.url}/latest/meta-data/spot/termination-time`);
    assert.equal(same.status, 200);
    assert.equal(lastGet(mock)?.hadToken, true);
    const foreign = await imds.get(`${other.url}/latest/meta-data/spot/termination-time`);
    assert.equal(foreign.status, 200);
    assert.equal(other.requests.length, 1);
    assert.equal(other.requests[0].hadToken, false);
  } finally {
    await mock.close();
    await other.close();
  }
});

Deno.test("imds.identity reads the four identity paths once and caches them", async () => {
  const mock = startMockImds({ requireToken: true, identity: { instanceType: "c7g.xlarge" } });
  try {
    const imds = createImds({ endpoint: mock.url });
    const expected = {
      instanceId: "i-1234567890abcdef0",
      instanceType: "c7g.xlarge",
      availabilityZone: "us-east-1a",
      region: "us-east-1",
    };
    assert.deepEqual(await imds.identity(), expected);
    const seen = mock.requests.length;
    assert.deepEqual(await imds.identity(), expected);
    assert.equal(mock.requests.length, seen);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.identity derives the region from the AZ when placement/region is 404", async () => {
  const mock = startMockImds({ identity: { availabilityZone: "us-west-2-lax-1a" } });
  try {
    mock.fault({ status: 404, path: "meta-data/placement/region" });
    const identity = await createImds({ endpoint: mock.url }).identity();
    assert.equal(identity.region, "us-west-2");
  } finally {
    await mock.close();
  }
});

Deno.test("imds.identity rejects naming the path when the instance id is missing", async () => {
  const mock = startMockImds();
  try {
    mock.fault({ status: 404, path: "meta-data/instance-id" });
    const err = await rejection(createImds({ endpoint: mock.url }).identity());
    assert.equal(err.path, "meta-data/instance-id");
    assert.equal(err.status, 404);
  } finally {
    await mock.close();
  }
});

Deno.test("regionFromAvailabilityZone handles regular, GovCloud, Local and Wavelength zones", () => {
  assert.equal(regionFromAvailabilityZone("us-east-1a"), "us-east-1");
  assert.equal(regionFromAvailabilityZone("ap-southeast-2c"), "ap-southeast-2");
  assert.equal(regionFromAvailabilityZone("us-gov-west-1b"), "us-gov-west-1");
  assert.equal(regionFromAvailabilityZone("us-west-2-lax-1a"), "us-west-2");
  assert.equal(regionFromAvailabilityZone("us-east-1-wl1-bos-wlz-1"), "us-east-1");
  assert.equal(regionFromAvailabilityZone("cn-north-1a"), "cn-north-1");
});

Deno.test("createImds rejects a malformed endpoint and an out-of-range token TTL", () => {
  assert.throws(() => createImds({ endpoint: "169.254.169.254" }), /IMDS endpoint is not a URL/);
  assert.throws(
    () => createImds({ endpoint: "http://127.0.0.1", tokenTtlSeconds: 0 }),
    RangeError,
  );
  assert.throws(
    () => createImds({ endpoint: "http://127.0.0.1", tokenTtlSeconds: 21601 }),
    /1\.\.21600/,
  );
});

// ---------------------------------------------------------------- hostile answers

for (const body of ["huge", "endless"] as const) {
  Deno.test(`imds.get refuses a ${body} body with kind too_large after ${MAX_BODY_BYTES} bytes`, async () => {
    const mock = startMockImds({ scenario: { spot: {} } });
    try {
      const imds = createImds({ endpoint: mock.url, timeoutMs: 60_000 });
      mock.fault({ body, path: SPOT, times: 1 });
      const err = await rejection(imds.get(SPOT));
      assert.equal(err.kind, "too_large");
      assert.equal(err.path, SPOT);
      assert.match(err.message, /meta-data\/spot\/instance-action: answer larger than 8192 bytes/);
      // The connection was given up, not the client: the next answer is read normally.
      assert.equal((await imds.get(SPOT)).status, 200);
    } finally {
      await mock.close();
    }
  });
}

Deno.test("imds.get gives up on a dripping body at its time limit: the limit covers the body read", async () => {
  const mock = startMockImds();
  try {
    const imds = createImds({ endpoint: mock.url, timeoutMs: 300 });
    mock.fault({ body: "drip", path: SPOT });
    const err = await rejection(imds.get(SPOT));
    assert.equal(err.kind, "timeout");
    assert.match(err.message, /no answer within 300 ms/);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get does not follow a redirect on a GET: kind redirect, nothing sent to the other host", async () => {
  const mock = startMockImds({ requireToken: true });
  const trap = startTokenTrap();
  try {
    const imds = createImds({ endpoint: mock.url });
    mock.fault({ redirect: `${trap.url}/latest/${SPOT}`, path: SPOT });
    const err = await rejection(imds.get(SPOT));
    assert.equal(err.kind, "redirect");
    assert.equal(err.status, 307);
    assert.match(err.message, /meta-data\/spot\/instance-action: redirected \(HTTP 307\)/);
    assert.ok(mock.requests.some((r) => r.path === `/latest/${SPOT}` && r.hadToken));
    assert.deepEqual(trap.requests, [], "the token went nowhere else");
  } finally {
    await trap.close();
    await mock.close();
  }
});

Deno.test("imds.get does not follow a redirect on the token PUT and does not fall back to IMDSv1", async () => {
  const mock = startMockImds({ scenario: { spot: {} } });
  const trap = startTokenTrap();
  const logger = createMemoryLogger();
  try {
    const imds = createImds({ endpoint: mock.url, logger });
    mock.fault({ redirect: `${trap.url}/latest/api/token`, path: "api/token" });
    const err = await rejection(imds.get(SPOT));
    assert.equal(err.kind, "redirect");
    assert.equal(err.path, "api/token");
    assert.deepEqual(trap.requests, [], "the other host's answer was not taken as a token");
    assert.equal(count(mock, "GET", `/latest/${SPOT}`), 0, "no request without the token");
    assert.ok(!logger.lines.some((l) => l.includes("IMDSv1")), logger.lines.join("\n"));
    mock.fault(null);
    assert.equal((await imds.get(SPOT)).status, 200, "works again once IMDS behaves");
  } finally {
    await trap.close();
    await mock.close();
  }
});

Deno.test("imds.get refuses an oversized token answer without falling back to IMDSv1", async () => {
  const mock = startMockImds();
  try {
    mock.fault({ body: "endless", path: "api/token" });
    const err = await rejection(createImds({ endpoint: mock.url }).get(SPOT));
    assert.equal(err.kind, "too_large");
    assert.equal(err.path, "api/token");
    assert.equal(count(mock, "GET", `/latest/${SPOT}`), 0);
  } finally {
    await mock.close();
  }
});

Deno.test("imds.get refuses a token that could not go into a header", async () => {
  const fakeFetch: typeof fetch = (_input, init) =>
    Promise.resolve(
      init?.method === "PUT"
        ? new Response("abc\u0000def\u00e9", { status: 200 })
        : new Response("i-1", { status: 200 }),
    );
  const err = await rejection(
    createImds({ endpoint: "http://127.0.0.1:1", fetch: fakeFetch }).get("meta-data/instance-id"),
  );
  assert.equal(err.kind, "token");
  assert.match(err.message, /not printable ASCII/);
});

Deno.test("imds errors and logs never show the user-info of the endpoint or of NOTICE_URL", async () => {
  const mock = startMockImds();
  const logger = createMemoryLogger("debug");
  try {
    const port = new URL(mock.url).port;
    const withSecret = `http://admin:hunter2@127.0.0.1:${port}`;
    const imds = createImds({ endpoint: withSecret, logger });
    mock.fault({ status: 500, path: "custom/termination-time" });
    const notice = await rejection(imds.get(`${withSecret}/custom/termination-time`));
    assert.match(
      notice.message,
      /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/custom\/termination-time: HTTP 500/,
    );
    mock.fault({ redirect: "http://127.0.0.1:1/elsewhere" });
    const redirected = await rejection(imds.get(SPOT));
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const refusedPort = closed.addr.port;
    closed.close();
    const refused = await rejection(
      createImds({ endpoint: `http://admin:hunter2@127.0.0.1:${refusedPort}`, logger }).get(SPOT),
    );
    assert.equal(refused.kind, "refused");
    const text = [notice, redirected, refused].map((e) => e.message).join("\n") +
      logger.lines.join("\n");
    assert.ok(!text.includes("hunter2"), text);
    assert.throws(
      () => createImds({ endpoint: "http://admin:hunter2@127.0.0.1:1/?x=1" }),
      (err: Error) => {
        assert.match(err.message, /must not have a query or fragment: http:\/\/\*\*\*@127/);
        assert.ok(!err.message.includes("hunter2"));
        return true;
      },
    );
  } finally {
    await mock.close();
  }
});

Deno.test("createImds builds /latest/ URLs from a base endpoint with or without a path", async () => {
  const seen: string[] = [];
  const fakeFetch: typeof fetch = (input) => {
    seen.push(String(input));
    return Promise.resolve(new Response("x", { status: 200 }));
  };
  for (
    const endpoint of ["http://127.0.0.1:1", "http://127.0.0.1:1/", "http://127.0.0.1:1/imds//"]
  ) {
    await createImds({ endpoint, fetch: fakeFetch, v1Fallback: true }).get(
      "/meta-data/instance-id",
    );
  }
  assert.deepEqual(seen.filter((u) => u.endsWith("instance-id")), [
    "http://127.0.0.1:1/latest/meta-data/instance-id",
    "http://127.0.0.1:1/latest/meta-data/instance-id",
    "http://127.0.0.1:1/imds/latest/meta-data/instance-id",
  ]);
  for (
    const bad of ["http://127.0.0.1:1?a=b", "http://127.0.0.1:1/#frag", "http://127.0.0.1:1/?"]
  ) {
    assert.throws(() => createImds({ endpoint: bad }), /must not have a query or fragment/);
  }
});

Deno.test("imds.get does not trust a small Content-Length sent beside chunked encoding", async () => {
  // A raw listener: Deno.serve would not send both headers. The chunks never end.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const encoder = new TextEncoder();
  const served = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096));
      try {
        await conn.write(
          encoder.encode(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
          ),
        );
        const chunk = encoder.encode(`4000\r\n${"A".repeat(0x4000)}\r\n`);
        for (let i = 0; i < 10_000; i++) await conn.write(chunk);
      } catch {
        // The client hung up: what it should do.
      } finally {
        conn.close();
      }
    }
  })();
  try {
    const imds = createImds({
      endpoint: `http://127.0.0.1:${listener.addr.port}`,
      v1Fallback: true,
      fetch: (input, init) =>
        // Only the GET goes to the listener; the token PUT is answered as IMDSv2 being off.
        init?.method === "PUT"
          ? Promise.resolve(new Response("", { status: 404 }))
          : fetch(input, init),
    });
    const err = await rejection(imds.get(SPOT));
    assert.ok(["too_large", "refused"].includes(err.kind), `${err.kind}: ${err.message}`);
  } finally {
    listener.close();
    await served;
  }
});
