import assert from "node:assert/strict";
import {
  DEFAULT_IDENTITY,
  formatEventTime,
  formatNoticeTime,
  sampleMaintenanceEvent,
  startMockImds,
  validateScenario,
} from "../tools/mock_imds.ts";
import { HUGE_BODY_BYTES, startTokenTrap } from "../tools/hostile_imds.ts";

const TTL = "X-aws-ec2-metadata-token-ttl-seconds";
const TOKEN = "X-aws-ec2-metadata-token";

async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, init);
  return { status: res.status, body: await res.text(), headers: res.headers };
}

async function token(base: string, ttl = "60"): Promise<string> {
  const res = await call(`${base}/latest/api/token`, { method: "PUT", headers: { [TTL]: ttl } });
  assert.equal(res.status, 200);
  return res.body;
}

Deno.test("mock IMDS serves the default identity unless told otherwise", async () => {
  const mock = startMockImds();
  const custom = startMockImds({
    identity: { instanceId: "i-0abc", availabilityZone: "eu-west-3b" },
  });
  try {
    assert.match(mock.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const md = `${mock.url}/latest/meta-data`;
    assert.equal((await call(`${md}/instance-id`)).body, DEFAULT_IDENTITY.instanceId);
    assert.equal((await call(`${md}/instance-type`)).body, "m5.large");
    assert.equal((await call(`${md}/placement/availability-zone`)).body, "us-east-1a");
    assert.equal((await call(`${md}/placement/region`)).body, "us-east-1");
    const cmd = `${custom.url}/latest/meta-data`;
    assert.equal((await call(`${cmd}/instance-id`)).body, "i-0abc");
    assert.equal((await call(`${cmd}/placement/availability-zone`)).body, "eu-west-3b");
    assert.equal((await call(`${cmd}/instance-type`)).body, "m5.large");
  } finally {
    await mock.close();
    await custom.close();
  }
});

Deno.test("mock IMDS answers 404 for notices that are not set and for unknown paths", async () => {
  const mock = startMockImds();
  try {
    for (
      const path of [
        "meta-data/spot/instance-action",
        "meta-data/spot/termination-time",
        "meta-data/events/recommendations/rebalance",
        "meta-data/events/maintenance/scheduled",
        "meta-data/no-such-thing",
      ]
    ) {
      assert.equal((await call(`${mock.url}/latest/${path}`)).status, 404, path);
    }
    const lifecycle = await call(`${mock.url}/latest/meta-data/autoscaling/target-lifecycle-state`);
    assert.deepEqual([lifecycle.status, lifecycle.body], [200, "InService"]);
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS token PUT validates the TTL header", async () => {
  const mock = startMockImds();
  try {
    const url = `${mock.url}/latest/api/token`;
    for (const bad of [undefined, "0", "21601", "abc", "-5", "1.5", ""]) {
      const headers: Record<string, string> = bad === undefined ? {} : { [TTL]: bad };
      assert.equal((await call(url, { method: "PUT", headers })).status, 400, `ttl ${bad}`);
    }
    for (const good of ["1", "21600"]) {
      const res = await call(url, { method: "PUT", headers: { [TTL]: good } });
      assert.equal(res.status, 200);
      assert.ok(res.body.length >= 20);
      assert.equal(res.headers.get(TTL), good);
    }
    assert.equal((await call(url)).status, 405);
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS with requireToken refuses requests without a valid token", async () => {
  let now = 1_000_000;
  const mock = startMockImds({ requireToken: true, now: () => now });
  try {
    const url = `${mock.url}/latest/meta-data/instance-id`;
    assert.equal((await call(url)).status, 401);
    assert.equal((await call(url, { headers: { [TOKEN]: "made-up" } })).status, 401);
    const t = await token(mock.url, "10");
    assert.equal((await call(url, { headers: { [TOKEN]: t } })).status, 200);
    now += 10_000;
    assert.equal((await call(url, { headers: { [TOKEN]: t } })).status, 401, "expired by TTL");
    const t2 = await token(mock.url);
    mock.expireTokens();
    assert.equal((await call(url, { headers: { [TOKEN]: t2 } })).status, 401, "expired by hand");
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS without requireToken serves IMDSv1 but still refuses a bad token", async () => {
  const mock = startMockImds();
  try {
    const url = `${mock.url}/latest/meta-data/instance-id`;
    assert.equal((await call(url)).status, 200);
    assert.equal((await call(url, { headers: { [TOKEN]: "made-up" } })).status, 401);
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS serves a spot notice in AEMM format once its delay has passed", async () => {
  let now = Date.parse("2026-11-25T10:00:00.250Z");
  const mock = startMockImds({ now: () => now, scenario: { spot: { afterMs: 5000 } } });
  try {
    const action = `${mock.url}/latest/meta-data/spot/instance-action`;
    const termination = `${mock.url}/latest/meta-data/spot/termination-time`;
    assert.equal((await call(action)).status, 404);
    assert.equal((await call(termination)).status, 404);
    now += 5000;
    const a = await call(action);
    assert.equal(a.status, 200);
    assert.equal(a.body, '{"action":"terminate","time":"2026-11-25T10:02:05Z"}');
    assert.equal((await call(termination)).body, "2026-11-25T10:02:05Z");
    now += 30_000;
    assert.equal((await call(termination)).body, "2026-11-25T10:02:05Z", "time stays fixed");

    mock.setScenario({ spot: { action: "hibernate", time: "2026-11-25T11:00:00Z" } });
    assert.deepEqual(JSON.parse((await call(action)).body), {
      action: "hibernate",
      time: "2026-11-25T11:00:00Z",
    });
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS serves rebalance, scheduled events and lifecycle state", async () => {
  let now = Date.parse("2026-11-25T10:00:00Z");
  const event = sampleMaintenanceEvent(now, 3_600_000);
  const mock = startMockImds({
    now: () => now,
    scenario: { rebalance: { afterMs: 1000 }, maintenance: [event], lifecycleState: "Terminated" },
  });
  try {
    const md = `${mock.url}/latest/meta-data`;
    assert.equal((await call(`${md}/events/recommendations/rebalance`)).status, 404);
    now += 1000;
    assert.equal(
      (await call(`${md}/events/recommendations/rebalance`)).body,
      '{"noticeTime":"2026-11-25T10:00:01Z"}',
    );
    const scheduled = JSON.parse((await call(`${md}/events/maintenance/scheduled`)).body);
    assert.deepEqual(scheduled, [event]);
    assert.equal(scheduled[0].NotBefore, "25 Nov 2026 11:00:00 GMT");
    assert.equal((await call(`${md}/autoscaling/target-lifecycle-state`)).body, "Terminated");
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS faults answer a status a given number of times, then clear", async () => {
  const mock = startMockImds();
  try {
    const url = `${mock.url}/latest/meta-data/instance-id`;
    mock.fault({ status: 500, times: 2 });
    assert.equal((await call(url)).status, 500);
    assert.equal((await call(url)).status, 500);
    assert.equal((await call(url)).status, 200);

    mock.fault({ status: 403, path: "api/token" });
    assert.equal((await call(url)).status, 200, "other paths are untouched");
    const put = await call(`${mock.url}/latest/api/token`, {
      method: "PUT",
      headers: { [TTL]: "60" },
    });
    assert.equal(put.status, 403);
    mock.fault(null);
    assert.equal((await token(mock.url)).length > 0, true);
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS malformed fault answers GETs with garbage", async () => {
  const mock = startMockImds({ scenario: { spot: {} } });
  try {
    mock.fault({ malformed: true, path: "/latest/meta-data/spot/instance-action", times: 1 });
    const garbage = await call(`${mock.url}/latest/meta-data/spot/instance-action`);
    assert.equal(garbage.status, 200);
    assert.throws(() => JSON.parse(garbage.body), SyntaxError);
    const good = await call(`${mock.url}/latest/meta-data/spot/instance-action`);
    assert.equal(JSON.parse(good.body).action, "terminate");
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS hang fault holds a request until the mock closes", async () => {
  const arrived = Promise.withResolvers<void>();
  const mock = startMockImds({ onRequest: () => arrived.resolve() });
  mock.fault({ hang: true, path: "meta-data/instance-id" });
  const pending = call(`${mock.url}/latest/meta-data/instance-id`).then(
    (res) => res.status,
    () => "connection closed",
  );
  await arrived.promise;
  // Recorded on arrival, with status 0 while it hangs.
  assert.deepEqual(mock.requests[0], {
    method: "GET",
    path: "/latest/meta-data/instance-id",
    hadToken: false,
    status: 0,
  });
  await mock.close();
  const outcome = await pending;
  assert.ok(outcome === 503 || outcome === "connection closed", String(outcome));
});

Deno.test("mock IMDS hostile faults: a declared 100 MB body, an endless one and a drip, on PUT too", async () => {
  const mock = startMockImds();
  try {
    mock.fault({ body: "huge", path: "api/token", times: 1 });
    const huge = await fetch(`${mock.url}/latest/api/token`, {
      method: "PUT",
      headers: { [TTL]: "60" },
    });
    assert.equal(huge.headers.get("content-length"), String(HUGE_BODY_BYTES));
    await huge.body?.cancel();
    for (const body of ["endless", "drip"] as const) {
      mock.fault({ body, path: "meta-data/instance-id", times: 1 });
      const res = await fetch(`${mock.url}/latest/meta-data/instance-id`);
      assert.equal(res.headers.get("content-length"), null, "chunked");
      // Read past what any IMDS answer holds (drip: a few bytes), then give up.
      const reader = res.body!.getReader();
      let read = 0;
      while (read < (body === "endless" ? 1_000_000 : 3)) {
        read += (await reader.read()).value!.length;
      }
      await reader.cancel();
    }
    assert.equal((await call(`${mock.url}/latest/meta-data/instance-id`)).status, 200);
  } finally {
    await mock.close();
  }
});

Deno.test("mock IMDS redirect fault answers 307 with the Location it was given", async () => {
  const trap = startTokenTrap();
  const mock = startMockImds();
  try {
    mock.fault({ redirect: `${trap.url}/latest/api/token`, path: "api/token" });
    const res = await fetch(`${mock.url}/latest/api/token`, {
      method: "PUT",
      headers: { [TTL]: "60" },
      redirect: "manual",
    });
    await res.body?.cancel();
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("location"), `${trap.url}/latest/api/token`);
    // The trap is what a client that follows would reach: it records the token it is sent.
    const followed = await call(`${trap.url}/latest/meta-data/spot/instance-action`, {
      headers: { [TOKEN]: "leaked" },
    });
    assert.equal(JSON.parse(followed.body).action, "terminate");
    assert.deepEqual(trap.requests, [
      { method: "GET", path: "/latest/meta-data/spot/instance-action", token: "leaked" },
    ]);
  } finally {
    await mock.close();
    await trap.close();
  }
});

Deno.test("mock IMDS control endpoints set the scenario and faults, and list requests", async () => {
  const mock = startMockImds();
  try {
    const post = (path: string, body: unknown) =>
      call(`${mock.url}${path}`, { method: "POST", body: JSON.stringify(body) });
    assert.equal((await post("/__scenario", { spot: { action: "stop" } })).status, 204);
    const action = await call(`${mock.url}/latest/meta-data/spot/instance-action`);
    assert.equal(JSON.parse(action.body).action, "stop");

    const bad = await post("/__scenario", { spot: { action: "explode" } });
    assert.equal(bad.status, 400);
    assert.match(bad.body, /scenario\.spot\.action/);
    const notJson = await call(`${mock.url}/__scenario`, { method: "POST", body: "{" });
    assert.equal(notJson.status, 400);

    assert.equal((await post("/__fault", { status: 502, times: 1 })).status, 204);
    assert.equal((await call(`${mock.url}/latest/meta-data/instance-id`)).status, 502);
    assert.equal((await post("/__fault", { times: -1 })).status, 400);
    const badBody = await post("/__fault", { body: "infinite" });
    assert.equal(badBody.status, 400);
    assert.match(badBody.body, /fault\.body: expected one of huge, endless, drip/);
    assert.equal((await post("/__fault", { redirect: 7 })).status, 400);
    assert.equal((await post("/__fault", null)).status, 204);

    const t = await token(mock.url);
    assert.equal((await call(`${mock.url}/__expire-tokens`, { method: "POST" })).status, 204);
    const expired = await call(`${mock.url}/latest/meta-data/instance-id`, {
      headers: { [TOKEN]: t },
    });
    assert.equal(expired.status, 401);

    const listed = JSON.parse((await call(`${mock.url}/__requests`)).body);
    assert.deepEqual(listed, mock.requests);
    assert.deepEqual(
      listed.map((r: { method: string; path: string; status: number }) =>
        `${r.method} ${r.path} ${r.status}`
      ),
      [
        "GET /latest/meta-data/spot/instance-action 200",
        "GET /latest/meta-data/instance-id 502",
        "PUT /latest/api/token 200",
        "GET /latest/meta-data/instance-id 401",
      ],
    );
    assert.equal(listed[3].hadToken, true);
    assert.equal((await call(`${mock.url}/__nothing`)).status, 404);
  } finally {
    await mock.close();
  }
});

Deno.test("validateScenario rejects bad fields by name", () => {
  assert.throws(() => validateScenario([]), /scenario: expected a JSON object/);
  assert.throws(() => validateScenario({ spot: { afterMs: -1 } }), /scenario\.spot\.afterMs/);
  assert.throws(() => validateScenario({ rebalance: 3 }), /scenario\.rebalance/);
  assert.throws(
    () => validateScenario({ maintenance: [{ Code: "x" }] }),
    /scenario\.maintenance\[0\]\.Description/,
  );
  assert.throws(() => validateScenario({ lifecycleState: 1 }), /scenario\.lifecycleState/);
  const ok = { spot: { action: "stop", afterMs: 0 }, lifecycleState: "Terminated" };
  assert.deepEqual(validateScenario(ok), ok);
});

Deno.test("formatEventTime writes IMDS scheduled-event times", () => {
  assert.equal(formatEventTime(new Date("2019-01-21T09:00:43Z")), "21 Jan 2019 09:00:43 GMT");
  assert.equal(formatEventTime(new Date("2020-01-01T01:03:07Z")), "1 Jan 2020 01:03:07 GMT");
  assert.equal(formatNoticeTime(new Date("2026-11-25T10:02:00.999Z")), "2026-11-25T10:02:00Z");
});

const script = new URL("../tools/mock_imds.ts", import.meta.url).pathname;

async function runScript(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("mock_imds script prints help, and rejects unknown flags with exit code 2", async () => {
  const help = await runScript(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--spot-after SECONDS/);
  assert.match(help.stdout, /--require-token/);
  const bad = await runScript(["--spot-after", "soon"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--spot-after/);
  const unknown = await runScript(["--bogus"]);
  assert.equal(unknown.code, 2);
});

Deno.test("mock_imds script serves its flags' scenario and stops on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", script, "--port", "0", "--action", "stop", "--require-token"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let printed = "";
    while (!printed.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      printed += value;
    }
    assert.match(
      printed,
      /listening on http:\/\/127\.0\.0\.1:\d+: IMDSv2 only, spot stop after 0 s/,
    );
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(printed)![0];
    const t = await token(url);
    const res = await call(`${url}/latest/meta-data/spot/instance-action`, {
      headers: { [TOKEN]: t },
    });
    assert.equal(JSON.parse(res.body).action, "stop");
  } finally {
    child.kill("SIGTERM");
    await reader.cancel();
  }
  assert.equal((await child.status).code, 0);
});
