import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { type AsgDetacherOptions, createAsgDetacher } from "../lib/asg.ts";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import {
  type FakeAutoScaling,
  type FakeAutoScalingOptions,
  startFakeAutoScaling,
} from "../tools/fake_autoscaling.ts";

const ID = "i-0123456789abcdef0";
const OTHER_ID = "i-0fedcba9876543210";
const CREDENTIALS = {
  accessKeyId: "AKIAASGTESTKEY000001",
  secretAccessKey: "asg-test-secret-access-key",
};

async function withFake(
  fakeOptions: FakeAutoScalingOptions,
  fn: (ctx: {
    fake: FakeAutoScaling;
    make: (extra?: Partial<AsgDetacherOptions>) => ReturnType<typeof createAsgDetacher>;
    logger: ReturnType<typeof createMemoryLogger>;
    metrics: ReturnType<typeof createMetrics>;
  }) => Promise<void>,
): Promise<void> {
  const fake = startFakeAutoScaling(fakeOptions);
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const make = (extra: Partial<AsgDetacherOptions> = {}) =>
    createAsgDetacher({
      region: "us-east-1",
      endpoint: fake.url,
      logger,
      metrics,
      credentials: CREDENTIALS,
      ...extra,
    });
  try {
    await fn({ fake, make, logger, metrics });
  } finally {
    await fake.close();
  }
}

function actions(fake: FakeAutoScaling): string[] {
  return fake.requests.map((r) => r.action);
}

function assertNoSecrets(lines: string[]): void {
  for (const line of lines) {
    assert.ok(!line.includes(CREDENTIALS.secretAccessKey), `secret in log line: ${line}`);
    assert.ok(!line.includes(CREDENTIALS.accessKeyId), `access key in log line: ${line}`);
  }
}

Deno.test("detach describes the instance, then detaches it keeping the desired capacity", async () => {
  await withFake(
    { instances: [{ instanceId: ID, group: "spot-workers" }] },
    async ({ fake, make, logger, metrics }) => {
      const result = await make().detach(ID);
      assert.deepEqual(result, { status: "detached", group: "spot-workers" });
      assert.deepEqual(fake.requests.map((r) => r.params), [
        {
          Action: "DescribeAutoScalingInstances",
          Version: "2011-01-01",
          "InstanceIds.member.1": ID,
        },
        {
          Action: "DetachInstances",
          Version: "2011-01-01",
          AutoScalingGroupName: "spot-workers",
          "InstanceIds.member.1": ID,
          ShouldDecrementDesiredCapacity: "false",
        },
      ]);
      for (const r of fake.requests) {
        assert.match(
          r.authorization ?? "",
          /^AWS4-HMAC-SHA256 Credential=AKIAASGTESTKEY000001\/\d{8}\/us-east-1\/autoscaling\//,
        );
      }
      assert.equal(fake.instances()[0].lifecycleState, "Detaching");
      assert.equal(metrics.get("sth_asg_detach_total", { outcome: "detached" }), 1);
      assert.equal(logger.lines.length, 1);
      assert.match(logger.lines[0], /INFO +detached instance .* instance=i-0123456789abcdef0/);
      assert.match(logger.lines[0], / group=spot-workers/);
      assertNoSecrets(logger.lines);
    },
  );
});

Deno.test("detach works from Standby too", async () => {
  await withFake(
    { instances: [{ instanceId: ID, group: "g", lifecycleState: "Standby" }] },
    async ({ fake, make }) => {
      assert.equal((await make().detach(ID)).status, "detached");
      assert.deepEqual(actions(fake), ["DescribeAutoScalingInstances", "DetachInstances"]);
    },
  );
});

Deno.test("detach reports not-in-group and calls nothing else when no group holds the instance", async () => {
  await withFake(
    { instances: [{ instanceId: OTHER_ID, group: "other" }] },
    async ({ fake, make, logger, metrics }) => {
      assert.deepEqual(await make().detach(ID), { status: "not-in-group" });
      assert.deepEqual(actions(fake), ["DescribeAutoScalingInstances"]);
      assert.equal(metrics.get("sth_asg_detach_total", { outcome: "not-in-group" }), 1);
      assert.equal(logger.lines.length, 1);
      assert.match(logger.lines[0], /no Auto Scaling group.* instance=i-0123456789abcdef0/);
    },
  );
});

for (
  const state of ["Detaching", "Detached", "Terminating", "Terminating:Wait", "Terminating:Proceed"]
) {
  Deno.test(`detach leaves an instance in ${state} alone as already-detaching`, async () => {
    await withFake(
      { instances: [{ instanceId: ID, group: "g", lifecycleState: state }] },
      async ({ fake, make, logger, metrics }) => {
        const result = await make().detach(ID);
        assert.equal(result.status, "already-detaching");
        assert.equal(result.group, "g");
        assert.match(result.message ?? "", new RegExp(state));
        assert.deepEqual(actions(fake), ["DescribeAutoScalingInstances"]);
        assert.equal(metrics.get("sth_asg_detach_total", { outcome: "already-detaching" }), 1);
        assert.equal(logger.lines.length, 1);
      },
    );
  });
}

Deno.test("detach a second time finds the instance already detaching", async () => {
  await withFake({ instances: [{ instanceId: ID, group: "g" }] }, async ({ fake, make }) => {
    const asg = make();
    assert.equal((await asg.detach(ID)).status, "detached");
    assert.equal((await asg.detach(ID)).status, "already-detaching");
    assert.deepEqual(actions(fake), [
      "DescribeAutoScalingInstances",
      "DetachInstances",
      "DescribeAutoScalingInstances",
    ]);
  });
});

Deno.test("detach in dry-run only describes and names the group it would leave", async () => {
  await withFake(
    { instances: [{ instanceId: ID, group: "spot-workers" }] },
    async ({ fake, make, logger, metrics }) => {
      const result = await make().detach(ID, { dryRun: true });
      assert.equal(result.status, "dry-run");
      assert.equal(result.group, "spot-workers");
      assert.match(result.message ?? "", /spot-workers/);
      assert.deepEqual(actions(fake), ["DescribeAutoScalingInstances"]);
      assert.equal(fake.instances()[0].lifecycleState, "InService");
      assert.equal(metrics.get("sth_asg_detach_total", { outcome: "dry-run" }), 1);
      assert.equal(logger.lines.length, 1);
      assert.match(logger.lines[0], /dry run: would detach .* group=spot-workers/);
    },
  );
});

Deno.test("detach lets the SDK retry a throttled call and then succeeds", async () => {
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    failures: [{
      action: "DescribeAutoScalingInstances",
      code: "Throttling",
      status: 400,
      times: 1,
    }],
  }, async ({ fake, make, logger }) => {
    assert.equal((await make({ maxAttempts: 2 }).detach(ID)).status, "detached");
    assert.deepEqual(actions(fake), [
      "DescribeAutoScalingInstances",
      "DescribeAutoScalingInstances",
      "DetachInstances",
    ]);
    assert.equal(logger.lines.length, 1);
  });
});

Deno.test("detach reports throttled once the SDK's attempts are used up", async () => {
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    failures: [{ action: "DetachInstances", code: "Throttling", status: 400 }],
  }, async ({ fake, make, logger, metrics }) => {
    const result = await make({ maxAttempts: 2 }).detach(ID);
    assert.equal(result.status, "throttled");
    assert.equal(result.group, "g");
    assert.match(result.message ?? "", /DetachInstances throttled \(Throttling\) after 2 attempt/);
    assert.deepEqual(actions(fake), [
      "DescribeAutoScalingInstances",
      "DetachInstances",
      "DetachInstances",
    ]);
    assert.equal(metrics.get("sth_asg_detach_total", { outcome: "throttled" }), 1);
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0], /^\S+ WARN /);
  });
});

Deno.test("detach names autoscaling:DescribeAutoScalingInstances when describing is denied", async () => {
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    failures: [{
      action: "DescribeAutoScalingInstances",
      code: "AccessDenied",
      status: 403,
      message:
        "User: arn:aws:sts::123456789012:assumed-role/node/i is not authorized to perform: " +
        "autoscaling:DescribeAutoScalingInstances",
    }],
  }, async ({ fake, make, logger, metrics }) => {
    const result = await make().detach(ID);
    assert.equal(result.status, "access-denied");
    assert.equal(result.group, undefined);
    assert.match(result.message ?? "", /autoscaling:DescribeAutoScalingInstances/);
    assert.deepEqual(actions(fake), ["DescribeAutoScalingInstances"]);
    assert.equal(metrics.get("sth_asg_detach_total", { outcome: "access-denied" }), 1);
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0], /ERROR .*autoscaling:DescribeAutoScalingInstances/);
  });
});

Deno.test("detach names autoscaling:DetachInstances when detaching is an unauthorized operation", async () => {
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    failures: [{ action: "DetachInstances", code: "UnauthorizedOperation", status: 403 }],
  }, async ({ fake, make }) => {
    const result = await make().detach(ID);
    assert.equal(result.status, "access-denied");
    assert.equal(result.group, "g");
    assert.match(result.message ?? "", /autoscaling:DetachInstances/);
    assert.doesNotMatch(result.message ?? "", /DescribeAutoScalingInstances/);
    assert.equal(fake.instances()[0].lifecycleState, "InService");
  });
});

Deno.test("detach reports other AWS errors as failed with the error code", async () => {
  // The real API refuses to detach a Pending instance with a ValidationError.
  await withFake(
    { instances: [{ instanceId: ID, group: "g", lifecycleState: "Pending" }] },
    async ({ make, logger, metrics }) => {
      const result = await make().detach(ID);
      assert.equal(result.status, "failed");
      assert.equal(result.group, "g");
      assert.match(result.message ?? "", /^DetachInstances failed \(ValidationError\): /);
      assert.equal(metrics.get("sth_asg_detach_total", { outcome: "failed" }), 1);
      assert.equal(logger.lines.length, 1);
      assert.match(logger.lines[0], /ERROR .*ValidationError/);
    },
  );
});

Deno.test("detach reports a server error as failed after the SDK's attempts", async () => {
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    failures: [{ action: "DescribeAutoScalingInstances", code: "InternalFailure", status: 500 }],
  }, async ({ fake, make }) => {
    const result = await make({ maxAttempts: 2 }).detach(ID);
    assert.equal(result.status, "failed");
    assert.match(result.message ?? "", /DescribeAutoScalingInstances failed \(InternalFailure\)/);
    assert.deepEqual(actions(fake), [
      "DescribeAutoScalingInstances",
      "DescribeAutoScalingInstances",
    ]);
  });
});

Deno.test("detach keeps access keys quoted by AWS out of its result and logs", async () => {
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    failures: [{
      action: "DescribeAutoScalingInstances",
      code: "InvalidClientTokenId",
      status: 403,
      message: `The security token ${CREDENTIALS.accessKeyId} included in the request is invalid.`,
    }],
  }, async ({ make, logger }) => {
    const result = await make().detach(ID);
    assert.equal(result.status, "failed");
    assert.match(result.message ?? "", /InvalidClientTokenId/);
    assert.match(result.message ?? "", /AKIA\*\*\*/);
    assert.ok(!(result.message ?? "").includes(CREDENTIALS.accessKeyId));
    assertNoSecrets(logger.lines);
  });
});

Deno.test("detach reports an unreachable endpoint as failed instead of throwing", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const logger = createMemoryLogger();
  const asg = createAsgDetacher({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${port}`,
    logger,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  const result = await asg.detach(ID);
  assert.equal(result.status, "failed");
  assert.match(result.message ?? "", /^DescribeAutoScalingInstances failed/);
  assert.equal(logger.lines.length, 1);
});

Deno.test("detach with an already aborted signal sends nothing", async () => {
  await withFake({ instances: [{ instanceId: ID, group: "g" }] }, async ({ fake, make }) => {
    const result = await make().detach(ID, { signal: AbortSignal.abort() });
    assert.equal(result.status, "failed");
    assert.match(result.message ?? "", /aborted/);
    assert.deepEqual(fake.requests, []);
  });
});

Deno.test("detach stops when its signal aborts during a call", async () => {
  const controller = new AbortController();
  await withFake({
    instances: [{ instanceId: ID, group: "g" }],
    onRequest: (r) => {
      if (r.action === "DescribeAutoScalingInstances") controller.abort();
    },
  }, async ({ fake, make }) => {
    const result = await make().detach(ID, { signal: controller.signal });
    assert.equal(result.status, "failed");
    assert.match(result.message ?? "", /DescribeAutoScalingInstances aborted/);
    assert.deepEqual(actions(fake), ["DescribeAutoScalingInstances"]);
    assert.equal(fake.instances()[0].lifecycleState, "InService");
  });
});

Deno.test("detach rejects an instance id that is not an EC2 id without calling AWS", async () => {
  await withFake({}, async ({ fake, make, logger }) => {
    const asg = make();
    for (const bad of ["", "ip-10-0-0-1", "i-XYZ", "i-0123456789abcdef0 "]) {
      const result = await asg.detach(bad);
      assert.equal(result.status, "failed");
      assert.match(result.message ?? "", /is not an EC2 instance id/);
    }
    assert.deepEqual(fake.requests, []);
    assert.equal(logger.lines.length, 4);
  });
});

Deno.test("createAsgDetacher rejects a bad region, endpoint or maxAttempts, naming it", () => {
  const logger = createMemoryLogger();
  assert.throws(() => createAsgDetacher({ region: "", logger }), /AWS region ""/);
  assert.throws(() => createAsgDetacher({ region: "EU West", logger }), /AWS region "EU West"/);
  assert.throws(
    () => createAsgDetacher({ region: "eu-west-1", endpoint: "127.0.0.1:4566", logger }),
    /AWS_ENDPOINT_URL_AUTO_SCALING "127.0.0.1:4566"/,
  );
  assert.throws(
    () => createAsgDetacher({ region: "eu-west-1", endpoint: "ftp://x", logger }),
    TypeError,
  );
  assert.throws(
    () => createAsgDetacher({ region: "eu-west-1", maxAttempts: 0, logger }),
    /maxAttempts/,
  );
});

Deno.test("createAsgDetacher loads the AWS SDK on the first detach, with a fetch request handler", async () => {
  // A subprocess with the SDK replaced by a stub that marks itself loaded: this process may
  // already have loaded the real SDK through other tests.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-lock",
      "--import-map",
      fileURLToPath(new URL("./fixtures/asg_lazy_import_map.json", import.meta.url)),
      fileURLToPath(new URL("./fixtures/asg_lazy.ts", import.meta.url)),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
    afterCreate: false,
    afterDetach: true,
    requestHandler: "FetchHttpHandler",
    status: "not-in-group",
  });
});
