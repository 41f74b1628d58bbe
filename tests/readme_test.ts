import assert from "node:assert/strict";
import { CORE_VARIABLES } from "../lib/config.ts";
import { NOTIFIER_VARIABLES } from "../lib/notify.ts";
import { examplePayloads, updateReadme } from "../tools/payload_examples.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

async function denoFmt(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: new URL("..", import.meta.url),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("README documents every environment variable", () => {
  for (const v of [...CORE_VARIABLES, ...NOTIFIER_VARIABLES]) {
    assert.ok(README.includes(`\`${v.name}\``), `README does not mention ${v.name}`);
  }
});

Deno.test("README shows the payloads the code sends today (run deno task readme after changes)", async () => {
  for (const e of examplePayloads()) {
    assert.ok(README.includes(e.body.split("\n")[1] ?? e.body), `${e.target} example missing`);
  }
  assert.equal(
    await denoFmt(updateReadme(README)),
    README,
    "README is out of date: deno task readme",
  );
});

Deno.test("README's quick start names the demo and test tasks that deno.json defines", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  for (const task of ["demo", "test", "mock-imds", "bench", "ok", "readme", "e2e"]) {
    assert.ok(config.tasks[task], `deno.json has no ${task} task`);
    assert.ok(README.includes(`deno task ${task}`), `README does not mention deno task ${task}`);
  }
});
