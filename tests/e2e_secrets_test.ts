/**
 * Secret hygiene end to end (issue 11 item 5): main.ts runs through a spot notice with secrets
 * in every place an operator puts them (URL user-info in the IMDS endpoint, NOTICE_URL and the
 * Auto Scaling endpoint; webhook tokens in paths and queries; a failing target so error texts
 * quote URLs), at LOG_LEVEL=debug so every level is written, once per log format. No secret may
 * appear in a log line, in /metrics or in the Kubernetes Events.
 */
import assert from "node:assert/strict";
import { demoPods } from "../tools/fake_apiserver.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { startStack } from "../tools/stack.ts";

const NODE = "ip-10-0-1-23.ec2.internal";
const SECRETS = [
  "imdsPASS1",
  "noticePASS2",
  "slackTOKEN3",
  "webhookTOKEN4",
  "discordTOKEN5",
  "asgPASS6",
  "imds-user",
  "notice-user",
  "asg-user",
];

function withUserInfo(url: string, user: string, pass: string): string {
  return url.replace("://", `://${user}:${pass}@`);
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

for (const format of ["text", "json"] as const) {
  Deno.test(`e2e: no secret in ${format} logs at every level, /metrics or Events`, async () => {
    const stack = await startStack({ node: NODE, api: { pods: demoPods(NODE) } });
    const port = freePort();
    const imds = withUserInfo(stack.imds.url, "imds-user", "imdsPASS1");
    const handler = spawnHandler({
      kubeconfig: stack.kubeconfig,
      env: {
        ...stack.env,
        LOG_FORMAT: format,
        LOG_LEVEL: "debug",
        METRICS_PORT: String(port),
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds,
        NOTICE_URL: `${
          withUserInfo(stack.imds.url, "notice-user", "noticePASS2")
        }/latest/meta-data/spot/termination-time`,
        AWS_ENDPOINT_URL_AUTO_SCALING: withUserInfo(stack.asg.url, "asg-user", "asgPASS6"),
        DETACH_ASG: "true",
        SLACK_URL: `${stack.sink.url}/slack/T000/B000/slackTOKEN3`,
        WEBHOOK_URL: `${stack.sink.url}/webhook?token=webhookTOKEN4`,
        // Refused at once: its failures are logged with the error text fetch gives.
        DISCORD_WEBHOOK: "http://127.0.0.1:9/api/webhooks/1/discordTOKEN5",
      },
    });
    try {
      await handler.waitForLine(/health and metrics listening/);
      stack.imds.setScenario({ spot: { action: "terminate" } });
      await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
      await handler.waitForLine(/notice handled/, 60_000);
      await handler.waitForLine(/notification failed.*discord/, 30_000);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /sth_notices_total\{kind="spot-interruption"\} 1/);
      const events = JSON.stringify(stack.api.events());
      assert.match(events, /spot-interruption/, "an Event was recorded");
      const log = handler.lines.join("\n");
      const levels = format === "json"
        ? new Set(handler.lines.flatMap((l) => {
          try {
            return [JSON.parse(l).level];
          } catch {
            return [];
          }
        }))
        : new Set(handler.lines.map((l) => / (DEBUG|INFO|WARN|ERROR) /.exec(l)?.[1]));
      for (
        const level of format === "json" ? ["debug", "info", "warn"] : ["DEBUG", "INFO", "WARN"]
      ) {
        assert.ok(levels.has(level), `${level} lines were written`);
      }
      for (const [where, text] of [["log", log], ["/metrics", metrics], ["Events", events]]) {
        for (const secret of SECRETS) {
          assert.ok(!text.includes(secret), `${secret} appears in ${where}`);
        }
      }
      // The redacted forms are there: the operator still sees which endpoint is used.
      assert.match(log, /http:\/\/\*\*\*@127\.0\.0\.1:\d+/);
    } finally {
      await handler.stop();
      await stack.close();
    }
  });
}
