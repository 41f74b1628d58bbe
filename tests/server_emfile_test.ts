/**
 * Accept errors for real: the listener runs under a descriptor limit of 64 and is sent more
 * idle connections than that. accept() fails with EMFILE; the process must log it, stay up and
 * answer again once descriptors are free. (Deno.serve ended the process here.)
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./fixtures/server_emfile.ts", import.meta.url));

const prlimit = (() => {
  try {
    return new Deno.Command("prlimit", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "accept() failing with EMFILE is logged once and survived",
  ignore: !prlimit,
  async fn() {
    const child = new Deno.Command("prlimit", {
      args: ["--nofile=64", Deno.execPath(), "run", "--allow-net=127.0.0.1", FIXTURE],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const lines: string[] = [];
    let onLine: () => void = () => {};
    const pump = (async () => {
      let rest = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        lines.push(...parts);
        onLine();
      }
    })();
    const stderr = new Response(child.stderr).text();
    const waitLine = (pattern: RegExp) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line ${pattern}: ${lines.join("\n")}`)),
          20_000,
        );
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit) {
            clearTimeout(timer);
            onLine = () => {};
            resolve(hit);
          }
        };
        onLine = check;
        check();
      });
    const conns: Deno.Conn[] = [];
    try {
      const port = Number((await waitLine(/^port=\d+$/)).slice(5));
      // The kernel completes connections into the backlog even when the process cannot accept.
      for (let i = 0; i < 120; i++) {
        conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      }
      const warned = await waitLine(/WARN .*health server cannot accept connections/);
      assert.match(warned, /Too many open files|os error 24/);
      for (const c of conns.splice(0)) c.close();
      // Descriptors free again: the same process answers.
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(r.status, 200);
      await r.body?.cancel();
      assert.equal(lines.filter((l) => /cannot accept/.test(l)).length, 1, "one line a minute");
    } finally {
      for (const c of conns) c.close();
      child.kill("SIGTERM");
      const status = await child.status;
      await pump;
      const err = await stderr;
      assert.ok(!/Uncaught|panicked/.test(err), err);
      assert.equal(status.code, 0, err);
    }
  },
});
