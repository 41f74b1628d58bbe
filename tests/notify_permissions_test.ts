import assert from "node:assert/strict";
import { HANDLER_PERMISSIONS } from "../lib/permissions.ts";
import { makeCertificates, startSmtpSink } from "./fixtures/notify_smtp_sink.ts";

const FIXTURE = new URL("./fixtures/notify_permissions.ts", import.meta.url).pathname;

function passThrough(...names: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

Deno.test("the handler's narrow permissions suffice for a webhook and a STARTTLS mail", async () => {
  const certificates = await makeCertificates();
  const dir = await Deno.makeTempDir({ prefix: "sth-notify-perm-" });
  const caFile = `${dir}/ca.pem`;
  await Deno.writeTextFile(caFile, certificates.ca);
  const smtp = await startSmtpSink({
    tls: "starttls",
    certificates,
    auth: { user: "relay", pass: "pw" },
  });
  const bodies: string[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    bodies.push(await req.text());
    return new Response("ok");
  });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...HANDLER_PERMISSIONS, FIXTURE],
      clearEnv: true,
      // Only the notifier variables under test, plus what Deno itself needs to find its cache.
      env: {
        ...passThrough("PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME", "NO_COLOR"),
        // Deno's own way to trust an extra CA; the relay's certificate is signed by it.
        DENO_CERT: caFile,
        SLACK_URL: `http://127.0.0.1:${http.addr.port}/services/T/B/X`,
        SMTP_URL: `smtp://relay:pw@localhost:${smtp.port}`,
        EMAIL_TO: "ops@example.com",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    assert.deepEqual(JSON.parse(stdout), [
      { target: "slack", ok: true, attempts: 1 },
      { target: "smtp", ok: true, attempts: 1 },
    ], stderr);
    assert.equal(bodies.length, 1);
    const mail = await smtp.nextMail();
    assert.equal(mail.secure, true);
    assert.equal(mail.subject, "Spot Termination Notification");
  } finally {
    await http.shutdown();
    await smtp.close();
    await Deno.remove(dir, { recursive: true });
  }
});
