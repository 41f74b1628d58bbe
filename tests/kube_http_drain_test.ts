import assert from "node:assert/strict";
import { demoPods, startFakeApiServer } from "../tools/fake_apiserver.ts";
import { createKubeHttp } from "../lib/kube_http.ts";
import { LIST_PAGE_SIZE } from "../lib/kube_http_drain.ts";
import { KubeError } from "../lib/kube_errors.ts";

const NODE = "ip-10-0-1-23.ec2.internal";
const TARGET = { server: "http://127.0.0.1:1", token: "tok", source: "test" };

/** A fetch that answers from `answer` and records each request's URL, method and body. */
function fakeFetch(answer: (url: URL, init: RequestInit) => Response | Promise<Response>) {
  const seen: { url: URL; method: string; body?: string }[] = [];
  const f = (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    seen.push({ url, method: init.method ?? "GET", body: init.body as string | undefined });
    return Promise.resolve(answer(url, init));
  };
  return { fetch: f as typeof fetch, seen };
}

const json = (status: number, value: unknown) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
const pod = (name: string) => ({
  metadata: { namespace: "default", name, uid: name },
  spec: { nodeName: NODE },
  status: {},
});

Deno.test("the drain's requests work end to end on the API stand-in: list, evict, event", async () => {
  const api = startFakeApiServer({ nodes: [NODE], pods: demoPods(NODE), token: "tok" });
  try {
    const kube = createKubeHttp({ target: { server: api.url, token: "tok", source: "test" } });
    const pods = await kube.listPodsOnNode(NODE);
    assert.deepEqual(
      pods.map((p) => `${p.namespace}/${p.name}`).sort(),
      demoPods(NODE).map((p) => `${p.namespace}/${p.name}`).sort(),
    );
    const web = pods.find((p) => p.name.startsWith("web-"))!;
    assert.deepEqual(await kube.evictPod(web, { gracePeriodSeconds: 7 }), { status: "evicted" });
    assert.deepEqual(
      api.evictions().map((e) => [e.name, e.gracePeriodSeconds]),
      [[web.name, 7]],
    );
    await kube.createNodeEvent(NODE, { reason: "SpotInterruption", message: "m", type: "Warning" });
    const event = api.requests.find((r) => r.resource === "events" && r.verb === "create");
    assert.equal(event?.status, 201);
    assert.equal(JSON.parse(event!.body!).involvedObject.name, NODE);
  } finally {
    await api.close();
  }
});

Deno.test("the pod listing follows continue tokens, by field selector, a page at a time", async () => {
  const { fetch, seen } = fakeFetch((url) =>
    url.searchParams.get("continue") === "page-2"
      ? json(200, { items: [pod("c")], metadata: {} })
      : json(200, { items: [pod("a"), pod("b")], metadata: { continue: "page-2" } })
  );
  const kube = createKubeHttp({ target: TARGET, fetch });
  assert.deepEqual((await kube.listPodsOnNode(NODE)).map((p) => p.name), ["a", "b", "c"]);
  assert.equal(seen.length, 2);
  for (const { url } of seen) {
    assert.equal(url.pathname, "/api/v1/pods");
    assert.equal(url.searchParams.get("fieldSelector"), `spec.nodeName=${NODE}`);
    assert.equal(url.searchParams.get("limit"), String(LIST_PAGE_SIZE));
  }
});

Deno.test("a listing that never ends, or is not a list, is an error that names the request", async () => {
  const endless = fakeFetch(() => json(200, { items: [], metadata: { continue: "more" } }));
  await assert.rejects(
    createKubeHttp({ target: TARGET, fetch: endless.fetch }).listPodsOnNode(NODE),
    (e: unknown) =>
      e instanceof KubeError && /list pods on node .*still more pages/.test(e.message),
  );
  assert.ok(endless.seen.length <= 50, `stopped after ${endless.seen.length} pages`);
  const notList = fakeFetch(() => json(200, { kind: "Status" }));
  await assert.rejects(
    createKubeHttp({ target: TARGET, fetch: notList.fetch }).listPodsOnNode(NODE),
    /list pods on node .*no items list/,
  );
});

Deno.test("a listing page over the size bound is refused, not buffered", async () => {
  const chunk = new TextEncoder().encode(" ".repeat(1 << 20));
  let sent = 0;
  const { fetch } = fakeFetch(() =>
    new Response(
      new ReadableStream({
        pull(c) {
          sent += chunk.length;
          if (sent > 64 << 20) c.close(); // the test's own bound, far past the client's
          else c.enqueue(chunk);
        },
      }),
      { status: 200 },
    )
  );
  await assert.rejects(
    createKubeHttp({ target: TARGET, fetch }).listPodsOnNode(NODE),
    /list pods on node .*unreadable answer/,
  );
  assert.ok(sent <= 20 << 20, `read ${sent >> 20} MiB before giving up`);
});

Deno.test("an eviction's answer becomes its outcome: evicted, gone, blocked, retryable, failed", async () => {
  const ref = { namespace: "default", name: "web-1" };
  const cases: [Response | Error, unknown][] = [
    [json(201, { kind: "Status", status: "Success" }), { status: "evicted" }],
    [json(404, { message: 'pods "web-1" not found' }), { status: "gone" }],
    [
      json(429, { message: "Cannot evict pod as it would violate the pod's disruption budget." }),
      {
        status: "blocked",
        code: 429,
        message: "evict pod default/web-1: 429 Too Many Requests: Cannot evict pod as it would " +
          "violate the pod's disruption budget.",
      },
    ],
    [json(503, {}), {
      status: "retryable",
      code: 503,
      message: "evict pod default/web-1: 503 Service Unavailable: {}",
    }],
    [json(409, { message: "conflict" }), {
      status: "retryable",
      code: 409,
      message: "evict pod default/web-1: 409 Conflict: conflict",
    }],
    [json(403, { message: "forbidden" }), {
      status: "failed",
      code: 403,
      message: "evict pod default/web-1: 403 Forbidden: forbidden",
    }],
    [new TypeError("connection refused"), {
      status: "retryable",
      code: 0,
      message: "evict pod default/web-1: connection refused",
    }],
  ];
  for (const [answer, outcome] of cases) {
    const { fetch, seen } = fakeFetch(() => {
      if (answer instanceof Error) throw answer;
      return answer;
    });
    assert.deepEqual(
      await createKubeHttp({ target: TARGET, fetch }).evictPod(ref, { gracePeriodSeconds: 5 }),
      outcome,
    );
    assert.equal(seen[0].url.pathname, "/api/v1/namespaces/default/pods/web-1/eviction");
    assert.deepEqual(JSON.parse(seen[0].body!), {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name: "web-1", namespace: "default" },
      deleteOptions: { gracePeriodSeconds: 5 },
    });
  }
});

Deno.test("an eviction without a grace period leaves the pod's own to apply", async () => {
  const { fetch, seen } = fakeFetch(() => json(201, {}));
  await createKubeHttp({ target: TARGET, fetch }).evictPod({ namespace: "n", name: "p" });
  assert.equal(JSON.parse(seen[0].body!).deleteOptions, undefined);
});

Deno.test("a refused Event is an error naming it", async () => {
  const { fetch } = fakeFetch(() => json(403, { message: "events is forbidden" }));
  await assert.rejects(
    createKubeHttp({ target: TARGET, fetch }).createNodeEvent(NODE, {
      reason: "SpotInterruption",
      message: "m",
      type: "Warning",
    }),
    (e: unknown) =>
      e instanceof KubeError && e.status === 403 &&
      /create event SpotInterruption for node .*403 Forbidden/.test(e.message),
  );
});
