import assert from "node:assert/strict";
import type { Identity, Imds } from "../lib/imds.ts";
import type { ImdsResponse } from "../lib/imds_http.ts";
import { identityWithUrls } from "../lib/identity_urls.ts";
import { DEFAULT_IDENTITY } from "../tools/mock_imds.ts";
import { spawnHandler, startStack } from "../tools/stack.ts";

const FROM_IMDS: Record<string, string> = {
  "meta-data/instance-id": "i-from-imds",
  "meta-data/instance-type": "m5.large",
  "meta-data/placement/availability-zone": "us-east-1a",
  "http://proxy.test/az": "eu-west-1b",
  "http://proxy.test/type": "c6g.xlarge",
};

function fakeImds() {
  const gets: string[] = [];
  let identities = 0;
  const imds: Pick<Imds, "get" | "identity"> = {
    get(path) {
      gets.push(path);
      const body = FROM_IMDS[path];
      return Promise.resolve<ImdsResponse>(
        body ? { status: 200, body: `${body}\n` } : { status: 404, body: "Not Found" },
      );
    },
    identity() {
      identities++;
      return Promise.resolve<Identity>({
        instanceId: "i-plain",
        instanceType: "t3.small",
        availabilityZone: "us-east-1a",
        region: "us-east-1",
      });
    },
  };
  return { imds, gets, identities: () => identities };
}

Deno.test("without the old URLs the identity is IMDS's own", async () => {
  const f = fakeImds();
  assert.equal((await identityWithUrls(f.imds, {})()).instanceId, "i-plain");
  assert.equal(f.identities(), 1);
  assert.deepEqual(f.gets, []);
});

Deno.test("AZ_URL and INSTANCE_TYPE_URL are read in place of IMDS; the region follows the zone", async () => {
  const f = fakeImds();
  const identity = identityWithUrls(f.imds, {
    availabilityZone: "http://proxy.test/az",
    instanceType: "http://proxy.test/type",
  });
  assert.deepEqual(await identity(), {
    instanceId: "i-from-imds",
    instanceType: "c6g.xlarge",
    availabilityZone: "eu-west-1b",
    region: "eu-west-1",
  });
  assert.deepEqual(f.gets.sort(), [
    "http://proxy.test/az",
    "http://proxy.test/type",
    "meta-data/instance-id",
  ]);
  await identity();
  assert.equal(f.gets.length, 3, "cached after the first success");
  assert.equal(f.identities(), 0);
});

Deno.test("an old URL that answers nothing is an error naming it, and is tried again next time", async () => {
  const f = fakeImds();
  const identity = identityWithUrls(f.imds, { instanceId: "http://proxy.test/missing" });
  await assert.rejects(identity(), /http:\/\/proxy\.test\/missing: no value \(404\)/);
  await assert.rejects(identity());
  assert.equal(f.gets.filter((p) => p === "http://proxy.test/missing").length, 2);
});

Deno.test("e2e: main.ts --test-notification reads INSTANCE_TYPE_URL from the old script's URL", async () => {
  const stack = await startStack({});
  try {
    const handler = spawnHandler({
      kubeconfig: stack.kubeconfig,
      env: { ...stack.env, INSTANCE_TYPE_URL: `${stack.sink.url}/instance-type` },
      args: ["--test-notification"],
    });
    const status = await handler.status;
    assert.equal(status.code, 0, handler.lines.join("\n"));
    const asked = stack.sink.requests.find((r) => r.path === "/instance-type");
    assert.equal(asked?.method, "GET");
    const [message] = stack.sink.requests.filter((r) => r.path === "/webhook");
    const event = JSON.parse(message.body);
    // The sink answers every request with "ok": that is the instance type the old URL gave.
    assert.equal(event.instanceType, "ok");
    assert.equal(event.instanceId, DEFAULT_IDENTITY.instanceId, "the other fields from IMDS");
  } finally {
    await stack.close();
  }
});
