import { kubectlVersion } from "../tools/kubectl.ts";
import { waitFor } from "../tools/wait.ts";
import assert from "node:assert/strict";
import {
  DEMO_HANDLER_POD,
  demoPods,
  type FakeApiServer,
  type FakeApiServerOptions,
  manyPods,
  startFakeApiServer,
} from "../tools/fake_apiserver.ts";

const NODE = "ip-10-0-1-23.ec2.internal";
type Obj = Record<string, unknown>;

async function withApi(
  options: FakeApiServerOptions,
  fn: (api: FakeApiServer) => Promise<void>,
): Promise<void> {
  const api = startFakeApiServer(options);
  try {
    await fn(api);
  } finally {
    await api.close();
  }
}

async function call(
  api: FakeApiServer,
  method: string,
  path: string,
  options: { body?: unknown; type?: string; token?: string } = {},
): Promise<{ status: number; body: Obj }> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["content-type"] = options.type ?? "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(api.url + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  return { status: response.status, body: await response.json() };
}

function eviction(name: string, gracePeriodSeconds?: number): Obj {
  return {
    apiVersion: "policy/v1",
    kind: "Eviction",
    metadata: { name, namespace: "default" },
    ...(gracePeriodSeconds === undefined ? {} : { deleteOptions: { gracePeriodSeconds } }),
  };
}

Deno.test("demoPods holds one pod of every kind the drain must tell apart", () => {
  const pods = demoPods(NODE);
  assert.ok(pods.every((p) => p.nodeName === NODE));
  assert.equal(
    pods.filter((p) => p.ownerKind === "ReplicaSet" && p.name.startsWith("web-")).length,
    3,
  );
  assert.ok(pods.some((p) => p.ownerKind === "DaemonSet" && p.name.startsWith("kube-proxy")));
  assert.ok(pods.some((p) => p.mirror));
  assert.ok(pods.some((p) => p.emptyDir));
  assert.ok(pods.some((p) => p.pdbBlocks === 2));
  assert.ok(pods.some((p) => p.ownerKind === "Job" && p.phase === "Succeeded"));
  assert.ok(
    pods.some((p) =>
      p.namespace === DEMO_HANDLER_POD.namespace && p.name === DEMO_HANDLER_POD.name &&
      p.ownerKind === "DaemonSet"
    ),
  );
  assert.equal(new Set(pods.map((p) => `${p.namespace}/${p.name}`)).size, pods.length);
  assert.equal(new Set(manyPods(NODE, 110).map((p) => p.name)).size, 110);
});

Deno.test("the stand-in answers an unknown path with a 404 Status object", async () => {
  await withApi({}, async (api) => {
    for (const path of ["/nope", "/api/v1/widgets/x", "/apis/example.com/v1/things"]) {
      const { status, body } = await call(api, "GET", path);
      assert.equal(status, 404, path);
      assert.equal(body.kind, "Status");
      assert.equal(body.reason, "NotFound");
      assert.equal(body.code, 404);
    }
  });
});

Deno.test("the stand-in requires the bearer token when one is set", async () => {
  await withApi({ nodes: [NODE], token: "t0k3n" }, async (api) => {
    assert.equal((await call(api, "GET", `/api/v1/nodes/${NODE}`)).status, 401);
    assert.equal(
      (await call(api, "GET", `/api/v1/nodes/${NODE}`, { token: "wrong" })).status,
      401,
    );
    const ok = await call(api, "GET", `/api/v1/nodes/${NODE}`, { token: "t0k3n" });
    assert.equal(ok.status, 200);
    assert.deepEqual(api.requests.map((r) => r.status), [401, 401, 200]);
  });
});

Deno.test("the stand-in records each request with its RBAC verb and resource", async () => {
  await withApi({ pods: demoPods(NODE) }, async (api) => {
    await call(api, "GET", "/version");
    await call(api, "GET", `/api/v1/nodes/${NODE}`);
    await call(api, "GET", `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`);
    await call(api, "GET", "/api/v1/namespaces/default/pods?watch=true");
    await call(api, "PATCH", `/api/v1/nodes/${NODE}`, {
      body: { spec: { unschedulable: true } },
      type: "application/merge-patch+json",
    });
    await call(api, "POST", "/api/v1/namespaces/default/pods/cache-0/eviction", {
      body: eviction("cache-0"),
    });
    await call(api, "POST", "/apis/events.k8s.io/v1/namespaces/default/events", {
      body: { metadata: { generateName: "x." }, reason: "R" },
    });
    const seen = api.requests.map((r) => [
      r.verb,
      r.group,
      r.resource,
      r.subresource ?? "",
      r.namespace ?? "",
      r.name ?? "",
      r.status,
    ]);
    assert.deepEqual(seen, [
      ["get", "", "", "", "", "", 200],
      ["get", "", "nodes", "", "", NODE, 200],
      ["list", "", "pods", "", "", "", 200],
      ["watch", "", "pods", "", "default", "", 405],
      ["patch", "", "nodes", "", "", NODE, 200],
      ["create", "", "pods", "eviction", "default", "cache-0", 201],
      ["create", "events.k8s.io", "events", "", "default", "", 201],
    ]);
    assert.equal(api.requests[0].nonResource, true);
    assert.equal(api.requests[4].contentType, "application/merge-patch+json");
    assert.ok(api.requests.every((r) => r.at > 0));
  });
});

Deno.test("the stand-in lists pods by spec.nodeName and rejects unsupported field selectors", async () => {
  const pods = [...demoPods(NODE), ...manyPods("other-node", 4)];
  await withApi({ pods }, async (api) => {
    const mine = await call(api, "GET", `/api/v1/pods?fieldSelector=spec.nodeName%3D${NODE}`);
    assert.equal((mine.body.items as Obj[]).length, demoPods(NODE).length);
    const ns = await call(
      api,
      "GET",
      `/api/v1/namespaces/kube-system/pods?fieldSelector=spec.nodeName%3D%3D${NODE}`,
    );
    assert.equal((ns.body.items as Obj[]).length, 3);
    const all = await call(api, "GET", "/api/v1/pods");
    assert.equal((all.body.items as Obj[]).length, pods.length);
    const bad = await call(api, "GET", "/api/v1/pods?fieldSelector=spec.hostname%3Dx");
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /field label not supported: spec.hostname/);
  });
});

Deno.test("the stand-in applies JSON merge patches and strategic merge patches to a node", async () => {
  await withApi({ nodes: [NODE] }, async (api) => {
    const path = `/api/v1/nodes/${NODE}`;
    await call(api, "PATCH", path, {
      body: {
        metadata: { annotations: { a: "1", b: "2" } },
        spec: { taints: [{ key: "x", effect: "NoSchedule" }] },
      },
      type: "application/merge-patch+json",
    });
    await call(api, "PATCH", path, {
      body: { metadata: { annotations: { a: null } } },
      type: "application/merge-patch+json",
    });
    await call(api, "PATCH", path, {
      body: {
        spec: {
          unschedulable: true,
          taints: [{ key: "spot", value: "true", effect: "NoSchedule" }],
        },
        "$setElementOrder/taints": [{ key: "spot" }],
      },
      type: "application/strategic-merge-patch+json",
    });
    const node = api.node(NODE) as { metadata: Obj; spec: Obj };
    assert.deepEqual(node.metadata.annotations, { b: "2" });
    assert.equal(node.spec.unschedulable, true);
    // Node taints have no merge strategy: the list is replaced, as kubectl taint expects.
    assert.deepEqual(node.spec.taints, [{ key: "spot", value: "true", effect: "NoSchedule" }]);
    assert.equal("$setElementOrder/taints" in node, false);
  });
});

Deno.test("the stand-in refuses a JSON patch and a malformed body", async () => {
  await withApi({ nodes: [NODE] }, async (api) => {
    const path = `/api/v1/nodes/${NODE}`;
    const jsonPatch = await call(api, "PATCH", path, {
      body: [{ op: "add", path: "/spec/unschedulable", value: true }],
      type: "application/json-patch+json",
    });
    assert.equal(jsonPatch.status, 415);
    const response = await fetch(api.url + path, {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: "{not json",
    });
    assert.equal(response.status, 400);
    await response.body?.cancel();
    assert.equal((await call(api, "PATCH", "/api/v1/nodes/missing", { body: {} })).status, 404);
  });
});

Deno.test("the stand-in refuses a PDB-guarded eviction with a 429 Status until the budget allows it", async () => {
  const pods = [{
    namespace: "default",
    name: "pay-1",
    ownerKind: "ReplicaSet",
    ownerName: "pay",
    pdbBlocks: 2,
    nodeName: NODE,
  }];
  await withApi({ pods }, async (api) => {
    const path = "/api/v1/namespaces/default/pods/pay-1/eviction";
    for (let i = 0; i < 2; i++) {
      const { status, body } = await call(api, "POST", path, { body: eviction("pay-1") });
      assert.equal(status, 429);
      assert.equal(body.kind, "Status");
      assert.equal(body.reason, "TooManyRequests");
      assert.equal(
        body.message,
        "Cannot evict pod as it would violate the pod's disruption budget.",
      );
      assert.equal(((body.details as Obj).causes as Obj[])[0].reason, "DisruptionBudget");
    }
    assert.equal((await call(api, "POST", path, { body: eviction("pay-1") })).status, 201);
    assert.deepEqual(api.pods(), []);
  });
});

Deno.test("setPdbBlocks holds a budget until a test lifts it and refuses unknown pods", async () => {
  const pods = [{ namespace: "default", name: "pay-1", pdbBlocks: Infinity, nodeName: NODE }];
  await withApi({ pods }, async (api) => {
    const path = "/api/v1/namespaces/default/pods/pay-1/eviction";
    for (let i = 0; i < 3; i++) {
      assert.equal((await call(api, "POST", path, { body: eviction("pay-1") })).status, 429);
    }
    api.setPdbBlocks("default", "pay-1", 1);
    assert.equal((await call(api, "POST", path, { body: eviction("pay-1") })).status, 429);
    assert.equal((await call(api, "POST", path, { body: eviction("pay-1") })).status, 201);
    assert.throws(() => api.setPdbBlocks("default", "nope", 0), /no pod default\/nope/);
    assert.throws(() => api.setPdbBlocks("default", "pay-1", -1), RangeError);
  });
});

Deno.test("the stand-in keeps an evicted pod terminating for deleteAfterMs with its grace period", async () => {
  await withApi({ pods: demoPods(NODE), deleteAfterMs: 50 }, async (api) => {
    const post = await call(api, "POST", "/api/v1/namespaces/default/pods/cache-0/eviction", {
      body: eviction("cache-0", 7),
    });
    assert.equal(post.status, 201);
    const { body } = await call(api, "GET", "/api/v1/namespaces/default/pods/cache-0");
    const metadata = body.metadata as Obj;
    assert.match(String(metadata.deletionTimestamp), /^\d{4}-/);
    assert.equal(metadata.deletionGracePeriodSeconds, 7);
    assert.deepEqual(api.evictions().map((e) => [e.name, e.gracePeriodSeconds]), [["cache-0", 7]]);
    await waitFor(
      "cache-0 removed after its grace period",
      () => !api.pods().some((p) => (p as { metadata: Obj }).metadata.name === "cache-0"),
      { timeoutMs: 5_000, intervalMs: 10 },
    );
    const gone = await call(api, "GET", "/api/v1/namespaces/default/pods/cache-0");
    assert.equal(gone.status, 404);
  });
});

Deno.test("the stand-in deletes a pod with the grace period of the DeleteOptions body", async () => {
  await withApi({ pods: demoPods(NODE) }, async (api) => {
    const res = await call(api, "DELETE", "/api/v1/namespaces/default/pods/cache-0", {
      body: { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 3 },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(api.evictions().map((e) => [e.name, e.gracePeriodSeconds]), [["cache-0", 3]]);
    assert.equal(
      (await call(api, "DELETE", "/api/v1/namespaces/default/pods/cache-0")).status,
      404,
    );
  });
});

Deno.test("the stand-in rejects an eviction whose body names another pod", async () => {
  await withApi({ pods: demoPods(NODE) }, async (api) => {
    const res = await call(api, "POST", "/api/v1/namespaces/default/pods/cache-0/eviction", {
      body: eviction("someone-else"),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(api.evictions(), []);
  });
});

Deno.test("the stand-in fails matching requests as often as told, then recovers", async () => {
  await withApi({
    pods: demoPods(NODE),
    failures: [{ verb: "patch", resource: "nodes", status: 500, times: 2 }],
  }, async (api) => {
    api.addFailure({
      verb: "create",
      resource: "pods",
      subresource: "eviction",
      name: "cache-0",
      status: 503,
    });
    const patch = () =>
      call(api, "PATCH", `/api/v1/nodes/${NODE}`, {
        body: { spec: { unschedulable: true } },
        type: "application/merge-patch+json",
      });
    assert.equal((await patch()).status, 500);
    assert.equal((await patch()).status, 500);
    assert.equal((await patch()).status, 200);
    const evict = () =>
      call(api, "POST", "/api/v1/namespaces/default/pods/cache-0/eviction", {
        body: eviction("cache-0"),
      });
    const first = await evict();
    assert.equal(first.status, 503);
    assert.equal(first.body.kind, "Status");
    assert.equal((await evict()).status, 201);
  });
});

Deno.test("the stand-in serves the discovery documents kubectl needs", async () => {
  await withApi({}, async (api) => {
    const v1 = await call(api, "GET", "/api/v1");
    const eviction = (v1.body.resources as Obj[]).find((r) => r.name === "pods/eviction")!;
    assert.deepEqual([eviction.group, eviction.version, eviction.kind], [
      "policy",
      "v1",
      "Eviction",
    ]);
    const groups = await call(api, "GET", "/apis");
    const names = (groups.body.groups as Obj[]).map((g) => g.name);
    assert.deepEqual(names.sort(), ["apps", "events.k8s.io", "policy"]);
    assert.equal((await call(api, "GET", "/apis/policy/v1")).body.groupVersion, "policy/v1");
    assert.deepEqual((await call(api, "GET", "/api")).body.versions, ["v1"]);
    assert.equal((await call(api, "GET", "/version")).body.major, "1");
  });
});

Deno.test("the stand-in serves the DaemonSets its pods name and 404 for others", async () => {
  await withApi({ pods: demoPods(NODE) }, async (api) => {
    const ds = await call(api, "GET", "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy");
    assert.equal(ds.status, 200);
    assert.equal(ds.body.kind, "DaemonSet");
    const none = await call(api, "GET", "/apis/apps/v1/namespaces/default/daemonsets/kube-proxy");
    assert.equal(none.status, 404);
  });
});

Deno.test("the stand-in stores core/v1 events and patches them", async () => {
  await withApi({}, async (api) => {
    const created = await call(api, "POST", "/api/v1/namespaces/default/events", {
      body: { metadata: { name: "n.1" }, reason: "SpotInterruption", count: 1 },
    });
    assert.equal(created.status, 201);
    await call(api, "PATCH", "/api/v1/namespaces/default/events/n.1", {
      body: { count: 2 },
      type: "application/merge-patch+json",
    });
    assert.equal((api.events()[0] as Obj).count, 2);
    const unnamed = await call(api, "POST", "/api/v1/namespaces/default/events", { body: {} });
    assert.equal(unnamed.status, 422);
  });
});

Deno.test("writeKubeconfig writes an owner-only kubeconfig for plain HTTP with the token", async () => {
  await withApi({ token: "abc" }, async (api) => {
    const dir = await Deno.makeTempDir();
    try {
      await api.writeKubeconfig(`${dir}/a`);
      await api.writeKubeconfig(`${dir}/b`, { token: "other" });
      const a = await Deno.readTextFile(`${dir}/a`);
      assert.match(a, new RegExp(`server: "${api.url}"`));
      assert.match(a, /insecure-skip-tls-verify: true/);
      assert.match(a, /token: "abc"/);
      assert.match(await Deno.readTextFile(`${dir}/b`), /token: "other"/);
      assert.equal((await Deno.stat(`${dir}/a`)).mode! & 0o777, 0o600);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("close() drops pending pod removals so no timer outlives the stand-in", async () => {
  const api = startFakeApiServer({ pods: demoPods(NODE), deleteAfterMs: 60_000 });
  await call(api, "POST", "/api/v1/namespaces/default/pods/cache-0/eviction", {
    body: eviction("cache-0"),
  });
  await api.close();
  // The test sanitizer fails this test if the 60 s removal timer were still pending.
  assert.equal(api.pods().length, demoPods(NODE).length);
});

const decoder = new TextDecoder();

async function readLines(
  stream: ReadableStream<Uint8Array>,
  until: (line: string) => boolean,
): Promise<string[]> {
  const lines: string[] = [];
  let buffer = "";
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return lines;
      buffer += decoder.decode(value, { stream: true });
      let at;
      while ((at = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 1);
        lines.push(line);
        if (until(line)) return lines;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

const script = new URL("../tools/fake_apiserver.ts", import.meta.url).pathname;

Deno.test("fake_apiserver.ts as a script serves N pods and prints its kubeconfig", async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      `--allow-write=${dir}`,
      script,
      "--pods",
      "5",
      "--node",
      "node-x",
      "--kubeconfig",
      `${dir}/kubeconfig`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const lines = await readLines(child.stdout, (l) => l.startsWith("kubeconfig: "));
    assert.equal(lines.at(-1), `kubeconfig: ${dir}/kubeconfig`);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(lines.join("\n"))![1];
    const res = await fetch(`${url}/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-x`);
    assert.equal(((await res.json()).items as unknown[]).length, 5);
    assert.match(await Deno.readTextFile(`${dir}/kubeconfig`), new RegExp(url));
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0);
  }
});

Deno.test("fake_apiserver.ts as a script rejects a bad option with exit code 2", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net=127.0.0.1", script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: decoder.decode(out.stderr) };
  };
  const bad = await run("--pods", "many");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--pods must be a non-negative integer, got "many"/);
  const unknown = await run("--pod", "5");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /'--pod'[\s\S]*usage: fake_apiserver\.ts/);
  const stray = await run("extra");
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /'extra'/);
});

const kubectl = await kubectlVersion();
if (!kubectl) {
  console.log("kubectl not found on PATH: skipping the tests that run the real kubectl");
}

async function runKubectl(kubeconfig: string, home: string, args: string[]) {
  const out = await new Deno.Command("kubectl", {
    args: ["--kubeconfig", kubeconfig, "--cache-dir", `${home}/cache`, ...args],
    env: { HOME: home },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

Deno.test({
  name: "real kubectl drains a demo node through the stand-in (needs kubectl)",
  ignore: !kubectl,
  fn: async () => {
    // No PodDisruptionBudget here: kubectl waits a fixed 5 s after each 429.
    const pods = demoPods(NODE).map((p) => ({ ...p, pdbBlocks: 0 }));
    const home = await Deno.makeTempDir();
    // No token: kubectl does not send a bearer token over plain HTTP.
    await withApi({ pods }, async (api) => {
      const kubeconfig = `${home}/kubeconfig`;
      await api.writeKubeconfig(kubeconfig);
      const out = await runKubectl(kubeconfig, home, [
        "drain",
        NODE,
        "--force",
        "--ignore-daemonsets",
        "--delete-emptydir-data",
        "--timeout=60s",
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`node/${NODE.replaceAll(".", "\\.")} drained`));
      const node = api.node(NODE) as { spec: Obj };
      assert.equal(node.spec.unschedulable, true);
      const evicted = api.evictions().map((e) => `${e.namespace}/${e.name}`).sort();
      assert.deepEqual(evicted, [
        "default/cache-0",
        "default/payments-6c9d8f5b7-r2d2x",
        "default/report-28473921-xk2lp",
        "default/web-5d8f7b9c4d-k2x9p",
        "default/web-5d8f7b9c4d-m4q7z",
        "default/web-5d8f7b9c4d-t8w3n",
      ]);
      const left = api.pods().map((p) => (p as { metadata: Obj }).metadata.name).sort();
      assert.deepEqual(left, ["kube-proxy-7bq4s", DEMO_HANDLER_POD.name, `static-web-${NODE}`]);
      const patch = api.requests.find((r) => r.verb === "patch" && r.resource === "nodes")!;
      assert.equal(patch.contentType, "application/strategic-merge-patch+json");
      const verbs = new Set(
        api.requests.filter((r) => !r.nonResource).map((r) =>
          `${r.verb} ${r.group}/${r.resource}${r.subresource ? "/" + r.subresource : ""}`
        ),
      );
      for (const v of ["patch /nodes", "list /pods", "create /pods/eviction", "get /pods"]) {
        assert.ok(verbs.has(v), `kubectl did not ${v}: ${[...verbs].join(", ")}`);
      }
    });
    await Deno.remove(home, { recursive: true });
  },
});

Deno.test({
  name: "real kubectl taints and untaints a node through strategic merge patches (needs kubectl)",
  ignore: !kubectl,
  fn: async () => {
    const home = await Deno.makeTempDir();
    await withApi({ nodes: [NODE] }, async (api) => {
      const kubeconfig = `${home}/kubeconfig`;
      await api.writeKubeconfig(kubeconfig);
      for (const taint of ["a=1:NoSchedule", "spot=terminating:NoExecute"]) {
        const out = await runKubectl(kubeconfig, home, ["taint", "nodes", NODE, taint]);
        assert.equal(out.code, 0, out.stderr);
      }
      const off = await runKubectl(kubeconfig, home, ["taint", "nodes", NODE, "a:NoSchedule-"]);
      assert.equal(off.code, 0, off.stderr);
      const node = api.node(NODE) as { spec: Obj };
      assert.deepEqual(node.spec.taints, [
        { key: "spot", value: "terminating", effect: "NoExecute" },
      ]);
    });
    await Deno.remove(home, { recursive: true });
  },
});

Deno.test("setBootId changes the node's status.nodeInfo.bootID as a reboot would", async () => {
  await withApi({ nodes: [NODE] }, async (api) => {
    const before = await call(api, "GET", `/api/v1/nodes/${NODE}`);
    const first = ((before.body.status as Obj).nodeInfo as Obj).bootID;
    assert.equal(typeof first, "string");
    api.setBootId(NODE, "boot-after-reboot");
    const after = await call(api, "GET", `/api/v1/nodes/${NODE}`);
    assert.equal(((after.body.status as Obj).nodeInfo as Obj).bootID, "boot-after-reboot");
    assert.notEqual(
      (after.body.metadata as Obj).resourceVersion,
      (before.body.metadata as Obj).resourceVersion,
    );
    assert.throws(() => api.setBootId("nope", "x"), /no node nope/);
  });
});
