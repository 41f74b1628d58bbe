import assert from "node:assert/strict";
import { startFakeApiServer } from "../tools/fake_apiserver.ts";
import { connectKube, createKubeHttp } from "../lib/kube_http.ts";
import type { Kube } from "../lib/kube.ts";
import { isPermanentKubeError, KubeError, kubeErrorKind, kubeFix } from "../lib/kube_errors.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

Deno.test("the fetch client reads and merge-patches a node on the API stand-in", async () => {
  const api = startFakeApiServer({ nodes: [NODE], token: "tok" });
  try {
    const kube = createKubeHttp({ target: { server: api.url, token: "tok", source: "test" } });
    const before = await kube.getNode(NODE);
    assert.equal(before.unschedulable, false);
    assert.ok(before.bootId, "bootID is read");
    await kube.patchNode(NODE, {
      unschedulable: true,
      labels: { "node.kubernetes.io/exclude-from-external-load-balancers": "true" },
      annotations: { "a/b": "c" },
    });
    const after = await kube.getNode(NODE);
    assert.equal(after.unschedulable, true);
    assert.equal(after.annotations["a/b"], "c");
    assert.equal(after.labels["node.kubernetes.io/exclude-from-external-load-balancers"], "true");
    assert.deepEqual(await kube.canI({ verb: "patch", resource: "nodes" }), {
      allowed: true,
      reason: "stand-in allows it",
    });
    assert.equal(await kube.getPod({ namespace: "x", name: "y" }), null);
  } finally {
    await api.close();
  }
});

Deno.test("the fetch client turns 401, 403 and 404 into permanent errors and 500 into a transient one", async () => {
  const api = startFakeApiServer({
    nodes: [NODE],
    token: "tok",
    failures: [
      { verb: "patch", resource: "nodes", status: 403, times: Infinity },
      { verb: "get", resource: "nodes", status: 500, times: 1 },
    ],
  });
  try {
    const bad = createKubeHttp({ target: { server: api.url, token: "wrong", source: "test" } });
    await assert.rejects(bad.getNode(NODE), (e: unknown) => kubeErrorKind(e) === "unauthorized");
    const kube = createKubeHttp({ target: { server: api.url, token: "tok", source: "test" } });
    await assert.rejects(kube.getNode(NODE), (e: unknown) => kubeErrorKind(e) === "transient");
    await assert.rejects(kube.getNode("nope"), (e: unknown) => kubeErrorKind(e) === "not-found");
    await assert.rejects(kube.patchNode(NODE, { unschedulable: true }), (e: unknown) => {
      assert.ok(e instanceof KubeError);
      assert.equal(e.kind, "forbidden");
      assert.ok(isPermanentKubeError(e));
      assert.match(e.message, /^patch node ip-10-0-1-23.ec2.internal: 403 Forbidden/);
      return true;
    });
    assert.equal((await kube.canI({ verb: "patch", resource: "nodes" })).allowed, false);
  } finally {
    await api.close();
  }
});

Deno.test("a refused connection is transient and an API that never answers times out", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  try {
    const hang = createKubeHttp({
      target: { server: `http://127.0.0.1:${port}`, source: "test" },
      timeoutMs: 50,
    });
    await assert.rejects(hang.getNode(NODE), (e: unknown) => {
      assert.equal(kubeErrorKind(e), "transient");
      assert.match((e as Error).message, /timed out/);
      return true;
    });
  } finally {
    listener.close();
    for (const c of held) c.close();
  }
  const refused = createKubeHttp({ target: { server: `http://127.0.0.1:${port}`, source: "t" } });
  await assert.rejects(refused.getNode(NODE), (e: unknown) => kubeErrorKind(e) === "transient");
});

Deno.test("kubeFix names the verb to grant, the kubeconfig setting, or the node variable", () => {
  assert.match(
    kubeFix("forbidden", { verb: "create", resource: "pods/eviction" }),
    /"create" on "pods\/eviction"/,
  );
  assert.match(kubeFix("tls", { kubeconfigPath: "/k" }), /insecure-skip-tls-verify/);
  assert.match(kubeFix("not-found", { resource: "nodes" }), /NODE_NAME/);
  assert.match(kubeFix("unauthorized", {}), /token/);
  assert.equal(kubeErrorKind(new Error("invalid peer certificate: UnknownIssuer")), "tls");
});

Deno.test("connectKube reports an unreadable or malformed kubeconfig without its contents", async () => {
  const fallback = (): Promise<Kube> => Promise.reject(new Error("must not load the full client"));
  await assert.rejects(
    connectKube({ kubeconfigPath: "/nonexistent/kubeconfig", fallback }),
    (e: unknown) => kubeErrorKind(e) === "config" && /\/nonexistent\/kubeconfig/.test(String(e)),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/k`, 'users:\n- name: u\n  user:\n    token: "tok-SECRET\n');
    await assert.rejects(
      connectKube({ kubeconfigPath: `${dir}/k`, fallback }),
      (e: unknown) => kubeErrorKind(e) === "config" && !String(e).includes("tok-SECRET"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("requestOf reads the verb and resource a failed request needed from its message", async () => {
  const { requestOf } = await import("../lib/kube_errors.ts");
  assert.deepEqual(requestOf("get node n1: 403 Forbidden"), { verb: "get", resource: "nodes" });
  assert.deepEqual(requestOf("evict pod a/b: 403 Forbidden"), {
    verb: "create",
    resource: "pods/eviction",
  });
  assert.equal(requestOf("something else"), undefined);
});

Deno.test("a token file is read once, then again only after a minute on the client's clock", async () => {
  let t = Date.parse("2026-11-25T10:00:00Z");
  let reads = 0;
  const sent: (string | null)[] = [];
  const kube = createKubeHttp({
    target: { server: "http://127.0.0.1:1", tokenFile: "/token", source: "test" },
    readText: () => Promise.resolve(`tok-${++reads}\n`),
    now: () => new Date(t),
    fetch: (_url, init) => {
      sent.push(new Headers(init?.headers).get("authorization"));
      return Promise.resolve(Response.json({ metadata: { name: NODE } }));
    },
  });
  await kube.getNode(NODE);
  t += 60_000;
  await kube.getNode(NODE);
  t += 1;
  await kube.getNode(NODE);
  assert.deepEqual(sent, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);
});
