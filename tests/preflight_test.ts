import assert from "node:assert/strict";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import { ImdsError } from "../lib/imds_http.ts";
import { KubeError } from "../lib/kube_errors.ts";
import type { AccessCheck, KubeCore } from "../lib/kube_http.ts";
import { createPreflight, type PreflightOptions } from "../lib/preflight.ts";
import { requiredAccess } from "../lib/preflight_kube.ts";
import { checkLine, runCheck, runTestNotification } from "../lib/commands.ts";
import type { Message } from "../lib/notify_message.ts";
import type { Notifier } from "../lib/notify.ts";

const IDENTITY = {
  instanceId: "i-1",
  instanceType: "m5.large",
  availabilityZone: "us-east-1a",
  region: "us-east-1",
};

function core(options: { deny?: string[]; nodeMissing?: boolean; error?: Error } = {}): KubeCore {
  const name = (c: AccessCheck) =>
    `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ""}`;
  return {
    getNode: (node) =>
      options.nodeMissing
        ? Promise.reject(new KubeError(`get node ${node}: 404 Not Found`, { status: 404 }))
        : Promise.resolve({
          name: node,
          unschedulable: false,
          annotations: {},
          labels: {},
          taints: [],
        }),
    patchNode: () => Promise.resolve(),
    getPod: () => Promise.resolve(null),
    canI: (c) =>
      options.error
        ? Promise.reject(options.error)
        : Promise.resolve({ allowed: !options.deny?.includes(name(c)) }),
  };
}

function setup(
  kube: KubeCore | Error,
  options: Partial<PreflightOptions> = {},
  imdsError?: Error,
) {
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const preflight = createPreflight({
    kubeCore: () => kube instanceof Error ? Promise.reject(kube) : Promise.resolve(kube),
    imds: {
      identity: () => imdsError ? Promise.reject(imdsError) : Promise.resolve(IDENTITY),
      get: () => Promise.resolve({ status: 200, body: "node-role\n" }),
    },
    logger,
    metrics,
    readable: (path) => Promise.resolve(path === "/ok/token"),
  }, {
    nodeName: "n1",
    imdsV1Disabled: false,
    detachAsg: false,
    awsEnv: {},
    ...options,
  });
  return { preflight, logger, metrics };
}

Deno.test("preflight passes and logs one ok line per check", async () => {
  const s = setup(core());
  const results = await s.preflight.run();
  assert.deepEqual(results.map((r) => [r.name, r.ok]), [
    ["kubernetes-api", true],
    ["node", true],
    ["rbac", true],
    ["imds", true],
  ]);
  assert.equal(s.preflight.failing(), undefined);
  assert.equal(s.logger.lines.filter((l) => l.includes("preflight ok")).length, 4);
  assert.equal(s.metrics.get("sth_preflight_check", { check: "rbac" }), 1);
});

Deno.test("preflight names each missing verb and how to grant it", async () => {
  const s = setup(core({ deny: ["create pods/eviction", "patch nodes"] }));
  const results = await s.preflight.run();
  const rbac = results.find((r) => r.name === "rbac")!;
  assert.equal(rbac.ok, false);
  assert.equal(rbac.detail, "not granted: patch nodes, create pods/eviction");
  assert.match(rbac.fix!, /ClusterRole/);
  assert.match(s.preflight.failing()!, /^rbac: not granted/);
  assert.equal(s.metrics.get("sth_preflight_check", { check: "rbac" }), 0);
  assert.ok(s.logger.lines.some((l) => /ERROR preflight failed: rbac/.test(l)));
});

Deno.test("preflight asks for pods get only when the node is found from the own pod", () => {
  assert.ok(
    !requiredAccess({ nodeNameSet: true }).some((c) => c.verb === "get" && c.resource === "pods"),
  );
  assert.ok(
    requiredAccess({ nodeNameSet: false }).some((c) => c.verb === "get" && c.resource === "pods"),
  );
});

Deno.test("preflight reports an unusable API with the kubeconfig fix and skips what depends on it", async () => {
  const s = setup(
    new KubeError("HTTP protocol is not allowed when skipTLSVerify is not set", { kind: "tls" }),
    { kubeconfigPath: "/k" },
  );
  const results = await s.preflight.run();
  assert.deepEqual(results.map((r) => [r.name, r.ok]).slice(0, 3), [
    ["kubernetes-api", false],
    ["node", false],
    ["rbac", false],
  ]);
  assert.match(results[0].fix!, /insecure-skip-tls-verify/);
  const unauthorized = await setup(core({ error: new KubeError("x: 401", { status: 401 }) }))
    .preflight.run();
  assert.match(unauthorized[0].fix!, /refused the credentials/);
});

Deno.test("preflight reports a node that does not exist", async () => {
  const results = await setup(core({ nodeMissing: true })).preflight.run();
  const node = results.find((r) => r.name === "node")!;
  assert.equal(node.ok, false);
  assert.match(node.fix!, /NODE_NAME/);
});

Deno.test("preflight names the hop limit when IMDSv2 tokens do not come and v1 is off", async () => {
  const results = await setup(core(), { imdsV1Disabled: true }, new ImdsError("token", "api/token"))
    .preflight.run();
  const imds = results.find((r) => r.name === "imds")!;
  assert.equal(imds.ok, false);
  assert.match(imds.fix!, /hop limit/);
});

Deno.test("preflight finds an AWS credential source without loading the SDK", async () => {
  const check = async (awsEnv: PreflightOptions["awsEnv"]) =>
    (await setup(core(), { detachAsg: true, awsEnv }).preflight.run()).find((r) =>
      r.name === "aws-credentials"
    )!;
  assert.equal((await check({ AWS_WEB_IDENTITY_TOKEN_FILE: "/ok/token" })).ok, true);
  const missing = await check({ AWS_WEB_IDENTITY_TOKEN_FILE: "/missing" });
  assert.equal(missing.ok, false);
  assert.match(missing.detail, /\/missing/);
  assert.equal((await check({ AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" })).ok, true);
  assert.match((await check({})).detail, /instance profile role node-role/);
});

Deno.test("preflight logs a check again only when its outcome changes", async () => {
  let deny: string[] = ["patch nodes"];
  const kube = core();
  kube.canI = (c) => Promise.resolve({ allowed: !deny.includes(`${c.verb} ${c.resource}`) });
  const s = setup(kube);
  await s.preflight.run();
  await s.preflight.run();
  assert.equal(s.logger.lines.filter((l) => l.includes("preflight failed: rbac")).length, 1);
  deny = [];
  await s.preflight.run();
  assert.equal(s.preflight.failing(), undefined);
  assert.equal(s.logger.lines.filter((l) => l.includes("preflight ok: rbac")).length, 1);
});

Deno.test("runCheck prints one line per check and exits 1 when one fails", async () => {
  const lines: string[] = [];
  const code = await runCheck({
    preflight: setup(core({ deny: ["create events"] })).preflight,
    print: (l) => lines.push(l),
  });
  assert.equal(code, 1);
  assert.ok(lines.some((l) => l.startsWith("FAIL  rbac: not granted: create events — fix:")));
  assert.equal(lines.at(-1), "some checks failed");
  assert.equal(checkLine({ name: "imds", ok: true, detail: "x" }), "ok    imds: x");
});

Deno.test("runTestNotification sends one test message and prints each delivery", async () => {
  const sent: Message[] = [];
  const notifier: Notifier = {
    targets: ["slack", "webhook"],
    send(message) {
      sent.push(message);
      return Promise.resolve([
        { target: "slack", ok: true, attempts: 1 },
        { target: "webhook", ok: false, attempts: 3, error: "HTTP 500" },
      ]);
    },
  };
  const lines: string[] = [];
  const code = await runTestNotification({
    notifier,
    print: (l) => lines.push(l),
    now: new Date("2026-12-01T00:00:00Z"),
    context: { node: "n1", instanceId: "i-1", instanceType: "t", availabilityZone: "z" },
  });
  assert.equal(code, 1);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].test, true);
  assert.deepEqual(lines, ["ok    slack (1 attempt)", "FAIL  webhook: HTTP 500 (3 attempts)"]);
});

Deno.test("--help lists the operator commands", async () => {
  const { helpText } = await import("../lib/config_variables.ts");
  assert.match(helpText(), /--check\s+run the start-up checks once/);
  assert.match(helpText(), /--test-notification\s+send one message marked \[TEST\]/);
});
