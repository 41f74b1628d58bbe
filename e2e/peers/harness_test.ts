import assert from "node:assert/strict";
import { parseAllDocuments } from "../../dev_deps.ts";
import { locatePeers } from "../../tools/peers/peers.ts";
import { MANIFEST_PATH, waitFor } from "./harness.ts";

Deno.test("locatePeers lists every missing binary of an empty peers directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const found = locatePeers(dir);
    assert.equal(found.ok, false);
    assert.ok(!found.ok);
    const names = found.missing.map((p) => p.slice(dir.length + 1)).sort();
    assert.deepEqual(names, [
      "bin/ec2-metadata-mock",
      "bin/etcd",
      "bin/kube-apiserver",
      "bin/kube-controller-manager",
      "bin/kwok",
      "bin/moto_server",
      "share/kwok-stages.yaml",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("waitFor resolves with the first value the probe returns", async () => {
  let calls = 0;
  const value = await waitFor("third call", () => ++calls === 3 ? "ok" : undefined, {
    timeoutMs: 5_000,
    intervalMs: 1,
  });
  assert.equal(value, "ok");
  assert.equal(calls, 3);
});

Deno.test("waitFor names what it waited for and the last error when it times out", async () => {
  await assert.rejects(
    waitFor("the impossible", () => {
      throw new Error("boom");
    }, { timeoutMs: 20, intervalMs: 5 }),
    /timed out after 20 ms waiting for the impossible\. last error: boom/,
  );
});

Deno.test("the RBAC manifest has a ServiceAccount bound to a role without wildcards", async () => {
  const docs = parseAllDocuments(await Deno.readTextFile(MANIFEST_PATH))
    .map((d) => d.toJSON() as { kind?: string; rules?: Record<string, string[]>[] } | null)
    .filter((d) => d !== null);
  assert.ok(docs.some((d) => d.kind === "ServiceAccount"));
  const roles = docs.filter((d) => d.kind === "ClusterRole" || d.kind === "Role");
  assert.ok(roles.length > 0);
  for (const rule of roles.flatMap((r) => r.rules ?? [])) {
    assert.ok(!rule.verbs.includes("*") && !rule.resources.includes("*"), JSON.stringify(rule));
  }
});
