import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { validateNotifierEnv } from "../lib/notify_env.ts";

/** The local modules `entry` loads, as paths relative to `lib/`. */
async function libModules(entry: string): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", fileURLToPath(new URL(entry, import.meta.url))],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(output.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout));
  return info.modules.map((m: { specifier: string }) => m.specifier)
    .filter((s: string) => s.startsWith("file:") && s.includes("/lib/"))
    .map((s: string) => s.slice(s.lastIndexOf("/lib/") + 5));
}

Deno.test("config checks notifier settings without loading the delivery code or SMTP client", async () => {
  const modules = await libModules("../lib/config.ts");
  for (const table of ["notify_targets.ts", "notify_env.ts"]) {
    assert.ok(modules.includes(table), modules.join(", "));
  }
  const deliveryModules = [
    "notify.ts",
    "notify_attempt.ts",
    "notify_http.ts",
    "notify_mail.ts",
    "smtp.ts",
    "smtp_session.ts",
    "smtp_format.ts",
    "scrub.ts",
  ];
  for (const delivery of deliveryModules) {
    assert.ok(!modules.includes(delivery), `config.ts loads ${delivery}`);
  }
});

Deno.test("an SMTP URL is checked by the client's own parser, without echoing the password", () => {
  const problems = validateNotifierEnv({
    SMTP_URL: "http://bot:hunter22@mail.example.com",
    EMAIL_TO: "ops@example.com",
  });
  assert.deepEqual(problems, ["SMTP_URL: scheme must be smtp: or smtps:"]);
  assert.deepEqual(
    validateNotifierEnv({ SMTP_URL: "smtp://bot@mail.example.com", EMAIL_TO: "ops@example.com" }),
    ["SMTP_URL: user name without password"],
  );
});
