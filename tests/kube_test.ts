import assert from "node:assert/strict";
import type { Kube } from "../lib/kube.ts";
import { KubeError } from "../lib/kube_errors.ts";
import { createKube } from "../lib/kube_client.ts";
import { nodePatchBody, toPodInfo } from "../lib/kube_objects.ts";
import { createMemoryLogger } from "../lib/log.ts";
import {
  demoPods,
  type FakeApiServer,
  type FakeApiServerOptions,
  startFakeApiServer,
} from "../tools/fake_apiserver.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

/** Start the stand-in, write a kubeconfig for it and build the real adapter over it. */
async function withKube(
  options: FakeApiServerOptions,
  fn: (kube: Kube, api: FakeApiServer) => Promise<void>,
  kubeOptions: { token?: string; requestTimeoutMs?: number } = {},
): Promise<void> {
  const api = startFakeApiServer(options);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/kubeconfig`;
    await api.writeKubeconfig(path, { token: kubeOptions.token });
    const kube = await createKube({
      kubeconfigPath: path,
      logger: createMemoryLogger(),
      requestTimeoutMs: kubeOptions.requestTimeoutMs,
    });
    await fn(kube, api);
  } finally {
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejectsWith(promise: Promise<unknown>, status: number | undefined, re: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KubeError, `expected KubeError, got ${error}`);
    assert.equal(error.status, status);
    assert.match(error.message, re);
    return true;
  });
}

Deno.test("nothing that ships loads @kubernetes/client-node before createKube runs", async () => {
  const lib = new URL("../lib/", import.meta.url);
  const files = [new URL("../main.ts", import.meta.url)];
  for await (const e of Deno.readDir(lib)) {
    if (e.name.endsWith(".ts")) files.push(new URL(e.name, lib));
  }
  const staticImports: string[] = [];
  for (const file of files) {
    const source = await Deno.readTextFile(file);
    // Whole statements, also those spread over several lines.
    for (const m of source.matchAll(/^import\b[^;]*?from\s+"@kubernetes\/client-node";/gms)) {
      staticImports.push(m[0]);
    }
  }
  assert.ok(staticImports.length > 0);
  for (const statement of staticImports) assert.match(statement, /^import type /);
  const client = await Deno.readTextFile(new URL("kube_client.ts", lib));
  assert.match(client, /await import\("@kubernetes\/client-node"\)/);
});

Deno.test("getNode reads labels, annotations, taints and unschedulable", async () => {
  await withKube({ nodes: [NODE] }, async (kube, api) => {
    const node = await kube.getNode(NODE);
    assert.equal(node.name, NODE);
    assert.equal(node.unschedulable, false);
    assert.deepEqual(node.taints, []);
    assert.deepEqual(node.annotations, {});
    assert.equal(node.labels["kubernetes.io/hostname"], NODE);
    assert.deepEqual(api.requests.map((r) => [r.verb, r.resource, r.name]), [
      ["get", "nodes", NODE],
    ]);
  });
});

Deno.test("patchNode cordons with a JSON merge patch holding only the given fields", async () => {
  await withKube({ nodes: [NODE] }, async (kube, api) => {
    await kube.patchNode(NODE, { unschedulable: true });
    const patch = api.requests.find((r) => r.verb === "patch")!;
    assert.equal(patch.contentType, "application/merge-patch+json");
    assert.deepEqual(JSON.parse(patch.body!), { spec: { unschedulable: true } });
    assert.equal(patch.path, `/api/v1/nodes/${NODE}`);
    assert.equal((await kube.getNode(NODE)).unschedulable, true);
  });
});

Deno.test("patchNode sets and removes annotations and replaces taints", async () => {
  await withKube({ nodes: [NODE] }, async (kube) => {
    await kube.patchNode(NODE, {
      annotations: { "sth/notice": "spot-interruption", "sth/old": "x" },
      taints: [{ key: "spot", value: "terminating", effect: "NoSchedule" }],
    });
    await kube.patchNode(NODE, {
      annotations: { "sth/old": null },
      taints: [{ key: "spot", value: "terminating", effect: "NoExecute" }, {
        key: "other",
        effect: "NoSchedule",
      }],
    });
    const node = await kube.getNode(NODE);
    assert.deepEqual(node.annotations, { "sth/notice": "spot-interruption" });
    assert.deepEqual(node.taints, [
      { key: "spot", value: "terminating", effect: "NoExecute" },
      { key: "other", effect: "NoSchedule" },
    ]);
  });
});

Deno.test("nodePatchBody leaves out fields that are not given", () => {
  assert.deepEqual(nodePatchBody({}), {});
  assert.deepEqual(nodePatchBody({ taints: [] }), { spec: { taints: [] } });
  assert.deepEqual(nodePatchBody({ unschedulable: false, annotations: { a: null } }), {
    spec: { unschedulable: false },
    metadata: { annotations: { a: null } },
  });
});

Deno.test("listPodsOnNode lists every namespace by field selector and maps the pod details", async () => {
  const pods = [...demoPods(NODE), {
    namespace: "other",
    name: "elsewhere",
    ownerKind: "ReplicaSet",
    nodeName: "ip-10-0-9-9.ec2.internal",
  }];
  await withKube({ pods }, async (kube, api) => {
    const list = await kube.listPodsOnNode(NODE);
    assert.equal(list.length, demoPods(NODE).length);
    const list2 = api.requests.filter((r) => r.verb === "list");
    assert.equal(list2.length, 1);
    assert.equal(list2[0].path, `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`);
    assert.equal(list2[0].namespace, undefined);
    const byName = new Map(list.map((p) => [p.name, p]));
    assert.deepEqual(byName.get("cache-0"), {
      namespace: "default",
      name: "cache-0",
      uid: byName.get("cache-0")!.uid,
      nodeName: NODE,
      phase: "Running",
      ownerKinds: ["StatefulSet"],
      isMirror: false,
      hasEmptyDir: true,
      terminationGracePeriodSeconds: 30,
    });
    assert.match(byName.get("cache-0")!.uid, /^[0-9a-f-]{36}$/);
    assert.equal(byName.get(`static-web-${NODE}`)!.isMirror, true);
    assert.deepEqual(byName.get("kube-proxy-7bq4s")!.ownerKinds, ["DaemonSet"]);
    assert.equal(byName.get("report-28473921-xk2lp")!.phase, "Succeeded");
    assert.equal(byName.get("kube-proxy-7bq4s")!.namespace, "kube-system");
  });
});

Deno.test("getPod returns the pod, with its deletion time while it terminates, and null once gone", async () => {
  const pods = [{ namespace: "default", name: "web-1", ownerKind: "ReplicaSet", nodeName: NODE }];
  await withKube({ pods, deleteAfterMs: 60_000 }, async (kube) => {
    const ref = { namespace: "default", name: "web-1" };
    assert.equal((await kube.getPod(ref))!.deletionTimestamp, undefined);
    assert.deepEqual(await kube.evictPod(ref), { status: "evicted" });
    assert.match((await kube.getPod(ref))!.deletionTimestamp!, /^\d{4}-\d\d-\d\dT/);
    assert.equal(await kube.getPod({ namespace: "default", name: "nope" }), null);
  });
});

Deno.test("evictPod posts a policy/v1 Eviction with the grace period and maps 2xx and 404", async () => {
  await withKube({ pods: demoPods(NODE) }, async (kube, api) => {
    const ref = { namespace: "default", name: "cache-0" };
    assert.deepEqual(await kube.evictPod(ref, { gracePeriodSeconds: 17 }), { status: "evicted" });
    assert.deepEqual(await kube.evictPod(ref, { gracePeriodSeconds: 17 }), { status: "gone" });
    const post = api.requests.find((r) => r.subresource === "eviction")!;
    assert.deepEqual(
      [post.verb, post.group, post.resource, post.namespace, post.name],
      ["create", "", "pods", "default", "cache-0"],
    );
    assert.deepEqual(JSON.parse(post.body!), {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "cache-0", namespace: "default" },
      deleteOptions: { gracePeriodSeconds: 17 },
    });
    assert.deepEqual(api.evictions().map((e) => [e.name, e.gracePeriodSeconds]), [
      ["cache-0", 17],
    ]);
  });
});

Deno.test("evictPod reports a PodDisruptionBudget refusal as blocked with the budget's message", async () => {
  await withKube({ pods: demoPods(NODE) }, async (kube) => {
    const ref = { namespace: "default", name: "payments-6c9d8f5b7-r2d2x" };
    const outcome = await kube.evictPod(ref);
    assert.equal(outcome.status, "blocked");
    assert.ok(outcome.status === "blocked");
    assert.equal(outcome.code, 429);
    assert.match(
      outcome.message,
      /^evict pod default\/payments-6c9d8f5b7-r2d2x: 429 Too Many Requests: Cannot evict pod as it would violate the pod's disruption budget\. \(The disruption budget .* needs 1 healthy pods/,
    );
    assert.equal((await kube.evictPod(ref)).status, "blocked");
    assert.equal((await kube.evictPod(ref)).status, "evicted");
  });
});

Deno.test("evictPod reports 5xx as retryable and 403 as failed", async () => {
  const failures = [
    { verb: "create", resource: "pods", subresource: "eviction", name: "cache-0", status: 503 },
    {
      verb: "create",
      resource: "pods",
      subresource: "eviction",
      name: "web-5d8f7b9c4d-k2x9p",
      status: 403,
      message:
        'pods "web-5d8f7b9c4d-k2x9p" is forbidden: User "system:serviceaccount:x" cannot create',
    },
  ];
  await withKube({ pods: demoPods(NODE), failures }, async (kube) => {
    assert.deepEqual(await kube.evictPod({ namespace: "default", name: "cache-0" }), {
      status: "retryable",
      code: 503,
      message:
        "evict pod default/cache-0: 503 Service Unavailable: injected failure 503 for create pods",
    });
    const forbidden = await kube.evictPod({ namespace: "default", name: "web-5d8f7b9c4d-k2x9p" });
    assert.equal(forbidden.status, "failed");
    assert.ok(forbidden.status === "failed");
    assert.equal(forbidden.code, 403);
    assert.match(
      forbidden.message,
      /^evict pod default\/web-5d8f7b9c4d-k2x9p: 403 Forbidden: pods/,
    );
    assert.equal(
      (await kube.evictPod({ namespace: "default", name: "cache-0" })).status,
      "evicted",
    );
  });
});

Deno.test("evictPod reports an unreachable API server as retryable with code 0", async () => {
  const api = startFakeApiServer({ pods: demoPods(NODE) });
  const dir = await Deno.makeTempDir();
  try {
    await api.writeKubeconfig(`${dir}/kubeconfig`);
    await api.close();
    const kube = await createKube({
      kubeconfigPath: `${dir}/kubeconfig`,
      logger: createMemoryLogger(),
    });
    const outcome = await kube.evictPod({ namespace: "default", name: "cache-0" });
    assert.equal(outcome.status, "retryable");
    assert.ok(outcome.status === "retryable");
    assert.equal(outcome.code, 0);
    assert.match(outcome.message, /^evict pod default\/cache-0: /);
    await rejectsWith(kube.getNode(NODE), undefined, new RegExp(`^get node ${NODE}: `));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createNodeEvent creates a core/v1 Event about the Node in namespace default", async () => {
  await withKube({ nodes: [NODE] }, async (kube, api) => {
    await kube.createNodeEvent(NODE, {
      reason: "SpotInterruption",
      message: "Spot interruption at 2026-11-25T10:02:00Z; draining",
      type: "Warning",
    });
    const [event] = api.events() as Array<Record<string, Record<string, unknown>>>;
    assert.equal(event.metadata.namespace, "default");
    assert.match(String(event.metadata.name), new RegExp(`^${NODE}\\.[0-9a-f]+$`));
    assert.deepEqual(event.involvedObject, {
      apiVersion: "v1",
      kind: "Node",
      name: NODE,
      uid: NODE,
    });
    assert.equal(event.reason, "SpotInterruption");
    assert.equal(event.type, "Warning");
    assert.equal(event.message, "Spot interruption at 2026-11-25T10:02:00Z; draining");
    assert.equal(event.source.component, "spot-termination-handler");
    assert.match(String(event.firstTimestamp), /^\d{4}-\d\d-\d\dT/);
    const post = api.requests.find((r) => r.resource === "events")!;
    assert.deepEqual([post.verb, post.group, post.namespace], ["create", "", "default"]);
  });
});

Deno.test("kube errors name the verb and the object, with the HTTP status", async () => {
  const failures = [
    { verb: "patch", resource: "nodes", status: 403, message: `nodes "${NODE}" is forbidden` },
    { verb: "list", resource: "pods", status: 500 },
    { verb: "create", resource: "events", status: 422, message: "Event is invalid" },
    { verb: "get", resource: "pods", status: 500 },
  ];
  await withKube({ nodes: [NODE], failures }, async (kube) => {
    await rejectsWith(
      kube.patchNode(NODE, { unschedulable: true }),
      403,
      new RegExp(`^patch node ${NODE}: 403 Forbidden: nodes "${NODE}" is forbidden$`),
    );
    await rejectsWith(
      kube.listPodsOnNode(NODE),
      500,
      new RegExp(`^list pods on node ${NODE}: 500 Internal Server Error: `),
    );
    await rejectsWith(
      kube.createNodeEvent(NODE, { reason: "X", message: "m", type: "Normal" }),
      422,
      new RegExp(`^create event X for node ${NODE}: 422 Unprocessable Entity: Event is invalid$`),
    );
    await rejectsWith(kube.getNode("missing"), 404, /^get node missing: 404 Not Found: /);
    await rejectsWith(
      kube.getPod({ namespace: "x", name: "y" }),
      500,
      /^get pod x\/y: 500 Internal Server Error: /,
    );
  });
});

Deno.test("the adapter sends the kubeconfig's bearer token and never puts it in errors", async () => {
  await withKube({ nodes: [NODE], token: "s3cr3t-token" }, async (kube) => {
    assert.equal((await kube.getNode(NODE)).name, NODE);
  }, { token: "s3cr3t-token" });
  await withKube({ nodes: [NODE], token: "s3cr3t-token" }, async (kube) => {
    await assert.rejects(kube.getNode(NODE), (error: Error) => {
      assert.ok(error instanceof KubeError);
      assert.equal(error.status, 401);
      assert.match(error.message, new RegExp(`^get node ${NODE}: 401 Unauthorized`));
      assert.doesNotMatch(error.message, /wrong-token|s3cr3t/);
      return true;
    });
  }, { token: "wrong-token" });
});

Deno.test("a request slower than requestTimeoutMs fails instead of hanging the caller", async () => {
  await withKube({ nodes: [NODE], pods: demoPods(NODE), latencyMs: 300 }, async (kube) => {
    await rejectsWith(kube.getNode(NODE), undefined, new RegExp(`^get node ${NODE}: .*timed out`));
    const outcome = await kube.evictPod({ namespace: "default", name: "cache-0" });
    assert.equal(outcome.status, "retryable");
  }, { requestTimeoutMs: 20 });
});

Deno.test("createKube names the kubeconfig it cannot load", async () => {
  await assert.rejects(
    createKube({ kubeconfigPath: "/nonexistent/kubeconfig", logger: createMemoryLogger() }),
    (error: Error) =>
      error instanceof KubeError && /load Kubernetes config from \/nonexistent\/kubeconfig/.test(
        error.message,
      ),
  );
});

Deno.test("toPodInfo tolerates missing fields", () => {
  assert.deepEqual(toPodInfo({}), {
    namespace: "",
    name: "",
    uid: "",
    ownerKinds: [],
    isMirror: false,
    hasEmptyDir: false,
  });
  assert.equal(
    toPodInfo({ metadata: { deletionTimestamp: new Date("2026-11-25T10:00:00Z") } })
      .deletionTimestamp,
    "2026-11-25T10:00:00.000Z",
  );
});
