import assert from "node:assert/strict";
import { CORE_VARIABLES } from "../lib/config_variables.ts";
import { NOTIFIER_VARIABLES } from "../lib/notify_targets.ts";
import {
  examplePayloads,
  NOTIFICATIONS_DOC,
  updateNotificationsDoc,
} from "../tools/payload_examples.ts";

const read = (path: string) => Deno.readTextFile(new URL(`../${path}`, import.meta.url));
const README = await read("README.md");
const NOTIFICATIONS = await read(NOTIFICATIONS_DOC);
const CONTRIBUTING = await read("CONTRIBUTING.md");

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

Deno.test("README's configuration section documents every core environment variable", () => {
  const section = README.slice(README.indexOf("## Configuration"));
  for (const v of CORE_VARIABLES) {
    assert.ok(
      section.includes(`\`${v.name}\``),
      `README's configuration does not mention ${v.name}`,
    );
  }
});

Deno.test("docs/notifications.md documents every notifier variable", () => {
  for (const v of NOTIFIER_VARIABLES) {
    assert.ok(NOTIFICATIONS.includes(`\`${v.name}\``), `${NOTIFICATIONS_DOC} lacks ${v.name}`);
  }
});

Deno.test("docs/notifications.md shows the payloads the code sends today (run deno task readme after changes)", async () => {
  for (const e of examplePayloads()) {
    assert.ok(
      NOTIFICATIONS.includes(e.body.split("\n")[1] ?? e.body),
      `${e.target} example missing`,
    );
  }
  assert.equal(
    await denoFmt(updateNotificationsDoc(NOTIFICATIONS)),
    NOTIFICATIONS,
    `${NOTIFICATIONS_DOC} is out of date: deno task readme`,
  );
});

Deno.test("README's quick start is exactly the demo and test tasks, which deno.json defines", async () => {
  const config = JSON.parse(await read("deno.json"));
  const start = README.slice(README.indexOf("## Quick start"));
  const block = start.match(/```sh\n([\s\S]*?)```/)?.[1];
  assert.equal(block, "deno task demo\ndeno task test\n");
  assert.ok(config.tasks.demo && config.tasks.test, "deno.json defines demo and test");
});

Deno.test("CONTRIBUTING.md names every task deno.json defines", async () => {
  const config = JSON.parse(await read("deno.json"));
  for (const task of Object.keys(config.tasks)) {
    assert.ok(
      CONTRIBUTING.includes(`deno task ${task}`),
      `CONTRIBUTING.md lacks deno task ${task}`,
    );
  }
});
