import assert from "node:assert/strict";
import { parseAllDocuments } from "../../dev_deps.ts";
import { spawnHandler } from "../../tools/handler_process.ts";
import { locatePeers } from "../../tools/peers/peers.ts";
import { logLine, MANIFEST_PATH, waitFor, waitForLog } from "./harness.ts";

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

Deno.test("logLine reads a JSON log line and keeps any other line as raw text", () => {
  const raw = '{"level":"info","msg":"draining node","pods":3}';
  assert.deepEqual(logLine(raw), { level: "info", msg: "draining node", pods: 3, raw });
  assert.deepEqual(logLine("error: Uncaught (in promise)"), {
    raw: "error: Uncaught (in promise)",
  });
  assert.deepEqual(logLine("42"), { raw: "42" });
});

Deno.test("waitForLog names what it waited for when the handler exits without it; the log file has every line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const handler = spawnHandler({ env: {}, args: ["--help"], logPath: `${dir}/handler.log` });
    await assert.rejects(
      waitForLog(handler, (l) => l.msg === "never printed", "a line --help never prints", 30_000),
      /handler exited \(0\) without a line matching a line --help never prints/,
    );
    assert.equal((await handler.status).code, 0);
    const usage = await waitForLog(handler, (l) => /^Usage:/.test(l.raw), "the usage line", 1_000);
    assert.match(usage.raw, /--check/);
    const written = (await Deno.readTextFile(`${dir}/handler.log`)).split("\n");
    assert.equal(written.pop(), "");
    assert.deepEqual(written, handler.lines);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
