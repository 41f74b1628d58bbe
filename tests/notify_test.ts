import assert from "node:assert/strict";
import { createMemoryLogger } from "../lib/log.ts";
import { createMetrics } from "../lib/metrics.ts";
import type { Notice } from "../lib/notice.ts";
import { createNotifier } from "../lib/notify.ts";
import type { Message, NotifyContext } from "../lib/notify_message.ts";
import { NOTIFIER_VARIABLES } from "../lib/notify_targets.ts";
import { notifierWarnings, validateNotifierEnv } from "../lib/notify_env.ts";
import { messageText } from "../lib/notify_fields.ts";
import { messageTitle, severity } from "../lib/notify_message.ts";
import {
  mailContent,
  sematextPayload,
  slackPayload,
  teamsPayload,
} from "../lib/notify_payloads.ts";
import { webhookPayload } from "../lib/notify_webhook_event.ts";
import type { SmtpSender } from "../lib/smtp.ts";
import type { Mail } from "../lib/mail_syntax.ts";
import { startSmtpSink } from "./fixtures/notify_smtp_sink.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures

const notice: Notice = {
  id: "spot-interruption:2026-11-25T10:02:00Z",
  kind: "spot-interruption",
  noticeTime: new Date("2026-11-25T10:02:00Z"),
  deadline: new Date("2026-11-25T10:01:55Z"),
  action: "terminate",
  raw: '{"action":"terminate","time":"2026-11-25T10:02:00Z"}',
};

const context: NotifyContext = {
  cluster: "prod",
  node: "ip-10-0-0-1.eu-west-1.compute.internal",
  instanceId: "i-0123456789abcdef0",
  instanceType: "m5.large",
  availabilityZone: "eu-west-1a",
  region: "eu-west-1",
};

const plan = ["cordon", "taint", "drain", "detach-asg"];
const start: Message = { phase: "start", notice, context, dryRun: false, plan };

const evicted = Array.from({ length: 12 }, (_, i) => `default/web-${i}`);
const result: Message = {
  phase: "result",
  notice,
  context,
  dryRun: false,
  plan,
  report: {
    drain: {
      status: "partial",
      evicted,
      remaining: [{ pod: "default/db-0", reason: "PodDisruptionBudget" }],
      failed: [],
      skipped: [{ pod: "kube-system/aws-node-x", reason: "DaemonSet" }],
    },
    asg: { status: "detached", group: "workers" },
  },
};

const BASE = "Spot Termination (prod): ip-10-0-0-1.eu-west-1.compute.internal, " +
  "Instance: i-0123456789abcdef0, Instance Type: m5.large, AZ: eu-west-1a";
const START_LINES = [
  "Notice: spot-interruption (terminate)",
  "Deadline: 2026-11-25T10:01:55.000Z",
  "Plan: cordon, taint, drain, detach-asg",
];
const RESULT_BASE = BASE.replace(
  "Spot Termination (prod)",
  "Spot Termination Result: pods left (prod)",
);
const EVICTED_LINE = "12: " + evicted.slice(0, 10).join(", ") + " and 2 more";

const INSTANCE_FIELDS = [
  { title: "Node", value: context.node, short: false },
  { title: "Instance", value: context.instanceId, short: true },
  { title: "Instance Type", value: context.instanceType, short: true },
  { title: "Availability Zone", value: context.availabilityZone, short: true },
];
const START_FIELDS = [
  ...INSTANCE_FIELDS,
  { title: "Notice", value: "spot-interruption (terminate)", short: true },
  { title: "Deadline", value: "2026-11-25T10:01:55.000Z", short: true },
  { title: "Plan", value: "cordon, taint, drain, detach-asg", short: false },
];

/** A value that broke the old script's JSON and form encoding. */
const NASTY = `a "quoted" & b + 50% \\ c\nd`;

// ---------------------------------------------------------------------------------------------
// A recording HTTP sink on loopback

interface Recorded {
  method: string;
  path: string;
  search: string;
  contentType: string | null;
  body: string;
}

interface Sink {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

type Reply = (request: Recorded, index: number) => Response | Promise<Response>;

const sinks: Sink[] = [];

function startSink(reply: Reply = () => new Response("ok")): Promise<Sink> {
  const requests: Recorded[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = new URL(request.url);
      const recorded = {
        method: request.method,
        path: url.pathname,
        search: url.search,
        contentType: request.headers.get("content-type"),
        body: await request.text(),
      };
      requests.push(recorded);
      return await reply(recorded, requests.length - 1);
    },
  );
  const sink = {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
  };
  sinks.push(sink);
  return Promise.resolve(sink);
}

async function closeSinks(): Promise<void> {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
}

function setup(
  env: Record<string, string>,
  extra: Partial<Parameters<typeof createNotifier>[1]> = {},
) {
  const logger = createMemoryLogger();
  const metrics = createMetrics();
  const sleeps: number[] = [];
  const notifier = createNotifier(env, {
    logger,
    metrics,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...extra,
  });
  return { notifier, logger, metrics, sleeps };
}

function formPayload(request: Recorded): unknown {
  assert.equal(request.contentType, "application/x-www-form-urlencoded");
  const form = new URLSearchParams(request.body);
  assert.deepEqual([...form.keys()], ["payload"]);
  return JSON.parse(form.get("payload")!);
}

function jsonBody(request: Recorded): unknown {
  assert.equal(request.contentType, "application/json");
  return JSON.parse(request.body);
}

/** Run `body` with fresh sinks; every sink is closed afterwards, pass or fail. */
function sinkTest(name: string, body: () => Promise<void>): void {
  Deno.test(name, async () => {
    try {
      await body();
    } finally {
      await closeSinks();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Payloads, target by target

sinkTest(
  "slack gets the old form-encoded payload plus notice kind, deadline and plan",
  async () => {
    const sink = await startSink();
    const { notifier } = setup({
      SLACK_URL: `${sink.url}/services/T0/B0/XYZ`,
      SLACK_CHANNEL: "#ops",
    });
    assert.deepEqual(await notifier.send(start), [{ target: "slack", ok: true, attempts: 1 }]);
    const [request] = sink.requests;
    assert.equal(request.method, "POST");
    assert.equal(request.path, "/services/T0/B0/XYZ");
    assert.deepEqual(formPayload(request), {
      channel: "#ops",
      attachments: [{
        fallback: BASE,
        title: ":warning: Spot Termination (prod)",
        color: "danger",
        fields: START_FIELDS,
      }],
    });
  },
);

sinkTest("slack omits an empty channel and escapes quotes, &, +, % and newlines", async () => {
  const sink = await startSink();
  const { notifier } = setup({ SLACK_URL: sink.url, SLACK_CHANNEL: "" });
  await notifier.send({ ...start, context: { ...context, cluster: NASTY } });
  // The raw body must be proper form encoding: no literal &, + or % from the value.
  assert.equal(sink.requests[0].body.split("&").length, 1);
  assert.ok(!/["\n]|%(?![0-9A-F]{2})/.test(sink.requests[0].body), sink.requests[0].body);
  assert.ok(sink.requests[0].body.includes("%2B+50%25"), "+ and % are encoded, spaces are +");
  const payload = formPayload(sink.requests[0]) as {
    channel?: string;
    attachments: { title: string; fallback: string }[];
  };
  assert.equal("channel" in payload, false);
  assert.equal(payload.attachments[0].title, `:warning: Spot Termination (${NASTY})`);
  assert.ok(payload.attachments[0].fallback.startsWith(`Spot Termination (${NASTY}): `));
});

sinkTest(
  "slack's result message counts pods, names up to ten and says the ASG detach",
  async () => {
    const sink = await startSink();
    const { notifier } = setup({ SLACK_URL: sink.url });
    await notifier.send(result);
    assert.deepEqual(formPayload(sink.requests[0]), {
      attachments: [{
        fallback: RESULT_BASE,
        title: ":x: Spot Termination Result: pods left (prod)",
        color: "danger",
        fields: [
          ...INSTANCE_FIELDS,
          { title: "Evicted", value: EVICTED_LINE, short: false },
          { title: "Still There", value: "1: default/db-0 (PodDisruptionBudget)", short: false },
          { title: "Failed", value: "0", short: true },
          { title: "Skipped", value: "1", short: true },
          { title: "ASG", value: "detached from workers", short: false },
        ],
      }],
    });
  },
);

sinkTest("mattermost keeps the extra space in its title and the warning colour", async () => {
  const sink = await startSink();
  const { notifier } = setup({
    MATTERMOST_WEBHOOK: `${sink.url}/hooks/abc123`,
    MATTERMOST_USERNAME: "spot-bot",
    MATTERMOST_ICON_URL: "https://example.com/icon.png",
    MATTERMOST_CHANNEL: "town-square",
  });
  await notifier.send(start);
  assert.deepEqual(formPayload(sink.requests[0]), {
    username: "spot-bot",
    icon_url: "https://example.com/icon.png",
    channel: "town-square",
    attachments: [{
      fallback: BASE,
      title: ":warning: Spot Termination  (prod)",
      color: "warning",
      fields: START_FIELDS,
    }],
  });
});

sinkTest("mattermost omits empty username, icon and channel", async () => {
  const sink = await startSink();
  const { notifier } = setup({
    MATTERMOST_WEBHOOK: sink.url,
    MATTERMOST_USERNAME: "",
    MATTERMOST_ICON_URL: "",
  });
  await notifier.send({ ...start, context: { ...context, cluster: undefined } });
  const payload = formPayload(sink.requests[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(payload), ["attachments"]);
  const [attachment] = payload.attachments as { title: string }[];
  assert.equal(attachment.title, ":warning: Spot Termination ");
});

sinkTest("sematext gets the old JSON keys plus the detail fields", async () => {
  const sink = await startSink();
  const { notifier } = setup({ SEMATEXT_URL: `${sink.url}/receiver/v1/token123/event` });
  await notifier.send(start);
  assert.equal(sink.requests[0].method, "POST");
  assert.deepEqual(jsonBody(sink.requests[0]), {
    message: BASE,
    title: "Spot Termination  (prod)",
    host: context.node,
    "Instance": context.instanceId,
    "Instance Type": context.instanceType,
    "Availability Zone": context.availabilityZone,
    type: "aws_spot_instance_terminated",
    "Notice": "spot-interruption (terminate)",
    "Deadline": "2026-11-25T10:01:55.000Z",
    "Plan": "cordon, taint, drain, detach-asg",
  });
});

sinkTest(
  "wechat is a GET with key, text and whitespace-free desp, properly query-encoded",
  async () => {
    const sink = await startSink();
    const key = "SCU&key+1%=";
    const { notifier } = setup({ WECHAT_URL: `${sink.url}/send`, WECHAT_KEY: key });
    await notifier.send({ ...start, context: { ...context, cluster: NASTY } });
    const [request] = sink.requests;
    assert.equal(request.method, "GET");
    assert.equal(request.body, "");
    const query = new URLSearchParams(request.search);
    assert.deepEqual([...query.keys()], ["key", "text", "desp"]);
    assert.equal(query.get("key"), key);
    assert.equal(query.get("text"), "SpotTermination");
    const cluster = NASTY.replace(/\s+/g, "");
    assert.equal(
      query.get("desp"),
      `SpotTermination(${cluster}):ip-10-0-0-1.eu-west-1.compute.internal,Instance:i-0123456789abcdef0,` +
        "InstanceType:m5.large,AZ:eu-west-1a;Notice:spot-interruption(terminate);" +
        "Deadline:2026-11-25T10:01:55.000Z;Plan:cordon,taint,drain,detach-asg",
    );
    assert.ok(request.search.includes("key=SCU%26key%2B1%25%3D"));
  },
);

sinkTest("wechat omits an empty key", async () => {
  const sink = await startSink();
  const { notifier } = setup({ WECHAT_URL: `${sink.url}/send?channel=9`, WECHAT_KEY: "" });
  await notifier.send(start);
  const query = new URLSearchParams(sink.requests[0].search);
  assert.deepEqual([...query.keys()], ["channel", "text", "desp"]);
});

sinkTest("google chat gets {text} with the base text and the detail lines", async () => {
  const sink = await startSink();
  const { notifier } = setup({ HANGOUTS_URL: `${sink.url}/v1/spaces/X/messages?key=k&token=t` });
  await notifier.send(start);
  assert.deepEqual(jsonBody(sink.requests[0]), { text: [BASE, ...START_LINES].join("\n") });
});

sinkTest("google chat's JSON survives quotes, backslashes and newlines", async () => {
  const sink = await startSink();
  const { notifier } = setup({ HANGOUTS_URL: sink.url });
  await notifier.send({ ...start, context: { ...context, node: NASTY } });
  const { text } = jsonBody(sink.requests[0]) as { text: string };
  assert.ok(text.includes(`: ${NASTY}, Instance:`));
});

sinkTest("teams gets an Adaptive Card in a message envelope", async () => {
  const sink = await startSink();
  const { notifier } = setup({ TEAMS_WEBHOOK: `${sink.url}/workflows/abc` });
  await notifier.send(start);
  assert.deepEqual(jsonBody(sink.requests[0]), {
    type: "message",
    attachments: [{
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
      content: {
        $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        type: "AdaptiveCard",
        version: "1.4",
        body: [
          {
            type: "TextBlock",
            text: "Spot Termination (prod)",
            weight: "Bolder",
            size: "Medium",
            color: "Warning",
            wrap: true,
          },
          { type: "TextBlock", text: BASE, wrap: true },
          {
            type: "FactSet",
            facts: START_FIELDS.map(({ title, value }) => ({ title, value })),
          },
        ],
      },
    }],
  });
});

sinkTest("discord gets {content, embeds} and mentions nobody", async () => {
  const sink = await startSink(() => new Response(null, { status: 204 }));
  const { notifier } = setup({ DISCORD_WEBHOOK: `${sink.url}/api/webhooks/1/tok` });
  assert.equal((await notifier.send(result))[0].ok, true);
  assert.deepEqual(jsonBody(sink.requests[0]), {
    content: RESULT_BASE,
    embeds: [{
      title: "Spot Termination Result: pods left (prod)",
      color: 0xe01e5a,
      fields: [
        ...INSTANCE_FIELDS.map(({ title, value, short }) => ({
          name: title,
          value,
          inline: short,
        })),
        { name: "Evicted", value: EVICTED_LINE, inline: false },
        { name: "Still There", value: "1: default/db-0 (PodDisruptionBudget)", inline: false },
        { name: "Failed", value: "0", inline: true },
        { name: "Skipped", value: "1", inline: true },
        { name: "ASG", value: "detached from workers", inline: false },
      ],
    }],
    allowed_mentions: { parse: [] },
  });
});

sinkTest("the generic webhook sends schema version 1 for a notice and for a result", async () => {
  const sink = await startSink();
  const { notifier } = setup({ WEBHOOK_URL: `${sink.url}/sth` });
  await notifier.send(start);
  await notifier.send(result);
  const common = {
    schemaVersion: 1,
    kind: "spot-interruption",
    action: "terminate",
    noticeId: "spot-interruption:2026-11-25T10:02:00Z",
    cluster: "prod",
    node: context.node,
    instanceId: context.instanceId,
    instanceType: "m5.large",
    availabilityZone: "eu-west-1a",
    region: "eu-west-1",
    noticeTime: "2026-11-25T10:02:00.000Z",
    deadline: "2026-11-25T10:01:55.000Z",
    dryRun: false,
    plan,
  };
  assert.deepEqual(jsonBody(sink.requests[0]), { ...common, event: "notice" });
  assert.deepEqual(jsonBody(sink.requests[1]), {
    ...common,
    event: "result",
    result: {
      drained: true,
      drain: { status: "partial" },
      cordon: null,
      evicted,
      remaining: [{ pod: "default/db-0", reason: "PodDisruptionBudget" }],
      failed: [],
      skipped: [{ pod: "kube-system/aws-node-x", reason: "DaemonSet" }],
      asg: { status: "detached", group: "workers" },
    },
  });
});

Deno.test("the generic webhook uses null for an unknown cluster, region and ASG", () => {
  const payload = webhookPayload({
    ...result,
    context: { ...context, cluster: undefined, region: undefined },
    report: {},
  } as Message);
  assert.equal(payload.cluster, null);
  assert.equal(payload.region, null);
  assert.deepEqual(payload.result, {
    drained: false,
    drain: null,
    cordon: null,
    evicted: [],
    remaining: [],
    failed: [],
    skipped: [],
    asg: null,
  });
});

Deno.test("gmail sends through smtps://smtp.gmail.com:465 with the account's credentials", async () => {
  const sent: { server: string; mail: Mail }[] = [];
  const { notifier } = setup({
    GMAIL_USER: "spot.alerts@gmail.com",
    GMAIL_PASS: "app pass%41",
    GMAIL_EMAILTO: "ops@example.com, oncall@example.org",
  }, {
    smtp: (server): SmtpSender => ({
      send(mail) {
        sent.push({ server, mail });
        return Promise.resolve();
      },
    }),
  });
  assert.deepEqual(await notifier.send(start), [{ target: "gmail", ok: true, attempts: 1 }]);
  const server = new URL(sent[0].server);
  assert.equal(server.protocol, "smtps:");
  assert.equal(server.hostname, "smtp.gmail.com");
  assert.equal(server.port, "465");
  assert.equal(decodeURIComponent(server.username), "spot.alerts@gmail.com");
  assert.equal(decodeURIComponent(server.password), "app pass%41");
  assert.deepEqual(sent[0].mail, {
    from: "spot.alerts@gmail.com",
    to: ["ops@example.com", "oncall@example.org"],
    subject: "Spot Termination Notification",
    text: [BASE, ...START_LINES].join("\n"),
  });
});

Deno.test("smtp target delivers through the server in SMTP_URL to every EMAIL_TO", async () => {
  const sink = await startSmtpSink({ auth: { user: "relay", pass: "pa:ss@1" } });
  try {
    const { notifier } = setup({
      SMTP_URL: `smtp://relay:${encodeURIComponent("pa:ss@1")}@127.0.0.1:${sink.port}`,
      EMAIL_TO: "ops@example.com;oncall@example.org",
      EMAIL_FROM: "Spot Handler <spot@example.com>",
    });
    assert.deepEqual(await notifier.send(result), [{ target: "smtp", ok: true, attempts: 1 }]);
    const mail = await sink.nextMail();
    assert.equal(mail.user, "relay");
    assert.equal(mail.envelopeFrom, "spot@example.com");
    assert.deepEqual(mail.recipients, ["ops@example.com", "oncall@example.org"]);
    assert.equal(mail.subject, "Spot Termination Result: pods left");
    assert.equal(mail.text, messageText(result) + "\n");
  } finally {
    await sink.close();
  }
});

Deno.test("smtp target takes the sender from the SMTP user, else from the host", async () => {
  const seen: string[] = [];
  const smtp: SmtpSender = {
    send(mail) {
      seen.push(mail.from);
      return Promise.resolve();
    },
  };
  await setup(
    { SMTP_URL: "smtp://alerts%40example.com:pw@mail.example.com", EMAIL_TO: "o@e.com" },
    {
      smtp,
    },
  ).notifier.send(start);
  await setup({ SMTP_URL: "smtps://mail.example.com", EMAIL_TO: "o@e.com" }, { smtp }).notifier
    .send(start);
  assert.deepEqual(seen, ["alerts@example.com", "spot-termination-handler@mail.example.com"]);
});

Deno.test("messages name other notice kinds honestly and flag a dry run", () => {
  const rebalance: Message = {
    ...start,
    notice: { ...notice, kind: "rebalance-recommendation", action: "" },
    dryRun: true,
    plan: [],
  };
  assert.deepEqual(messageText(rebalance).split("\n"), [
    BASE.replace("Spot Termination", "Rebalance Recommendation"),
    "Notice: rebalance-recommendation",
    "Deadline: 2026-11-25T10:01:55.000Z",
    "Plan: notify only",
    "DRY RUN: nothing is changed",
  ]);
  assert.equal(mailContent(rebalance).subject, "[DRY RUN] Rebalance Recommendation Notification");
  const titles = [
    [{ kind: "scheduled-maintenance", action: "system-reboot" }, "Scheduled Maintenance"],
    [{ kind: "asg-termination", action: "Terminated" }, "ASG Termination"],
    [{ kind: "spot-interruption", action: "stop" }, "Spot Stop"],
    [{ kind: "spot-interruption", action: "hibernate" }, "Spot Hibernation"],
  ] as const;
  for (const [n, title] of titles) {
    const text = messageText({ ...start, notice: { ...notice, ...n } });
    assert.ok(text.startsWith(`${title} (prod): `), text);
  }
});

Deno.test("result messages say what was not done", () => {
  const lines = messageText({
    ...result,
    dryRun: true,
    report: { asg: { status: "access-denied", group: "workers", message: "not authorized" } },
  } as Message).split("\n");
  assert.deepEqual(lines.slice(1), [
    "Drain: not planned",
    "ASG: not detached: access-denied (not authorized)",
    "DRY RUN: nothing was changed",
  ]);
});

Deno.test("a result lists a failed cordon first and a resumed drain after its counts", () => {
  const pods = Array.from({ length: 12 }, (_, i) => `default/web-${i}`);
  const lines = messageText({
    ...result,
    report: {
      cordon: { status: "failed", message: "409 Conflict" },
      drain: {
        status: "drained",
        evicted: pods,
        remaining: [],
        failed: [{ pod: "default/db-0", reason: "403 Forbidden" }],
        skipped: [],
        resumed: true,
      },
    },
  } as Message).split("\n");
  assert.deepEqual(lines.slice(1), [
    "Cordon: failed: 409 Conflict",
    `Evicted: 12: ${pods.slice(0, 10).join(", ")} and 2 more`,
    "Still There: 0",
    "Failed: 1: default/db-0 (403 Forbidden)",
    "Skipped: 0",
    "Resumed: after a restart; pods evicted before it are not counted",
    "ASG: not requested",
  ]);
});

Deno.test("a drain that did not run is never reported as a success", () => {
  const message = {
    ...result,
    report: {
      drain: {
        status: "not-run",
        reason: "forbidden",
        message: 'list pods on node n1: 403 Forbidden — fix: grant verb "list" on "pods"',
      },
    },
  } as Message;
  assert.equal(severity(message), "bad");
  assert.equal(messageTitle(message), "Spot Termination Result: drain not run");
  const slack = slackPayload(message) as { attachments: { title: string; color: string }[] };
  assert.match(slack.attachments[0].title, /^:x: /);
  assert.equal(slack.attachments[0].color, "danger");
  const hook = webhookPayload(message);
  assert.equal(hook.result!.drained, false);
  assert.deepEqual(hook.result!.drain, {
    status: "not-run",
    reason: "forbidden",
    message: 'list pods on node n1: 403 Forbidden — fix: grant verb "list" on "pods"',
  });
  assert.ok(messageText(message).includes("Drain: not run: forbidden by RBAC (403)"));
});

Deno.test("a dry-run preview is neither a success nor a failure", () => {
  const message = {
    ...result,
    dryRun: true,
    report: { drain: { status: "dry-run", wouldEvict: ["default/web-1"], skipped: [] } },
  } as Message;
  assert.equal(severity(message), "info");
  assert.equal(messageTitle(message), "Spot Termination Dry Run");
  const slack = slackPayload(message) as { attachments: { title: string; color: string }[] };
  assert.doesNotMatch(slack.attachments[0].title, /:x:|:white_check_mark:/);
  const teams = teamsPayload(message);
  assert.equal(JSON.stringify(teams).includes('"color":"Accent"'), true);
  const hook = webhookPayload(message);
  assert.equal(hook.result!.drained, false);
  assert.deepEqual(hook.result!.wouldEvict, ["default/web-1"]);
  assert.ok(messageText(message).includes("Would Evict: 1: default/web-1"));
});

Deno.test("a test notification is marked as a test everywhere", () => {
  const message = { ...start, test: true } as Message;
  assert.match(messageTitle(message), /^\[TEST\] /);
  assert.equal(webhookPayload(message).test, true);
  assert.match(mailContent(message).subject, /^\[TEST\] /);
});

// ---------------------------------------------------------------------------------------------
// Sending: retries, timeouts, concurrency, secrets

sinkTest("a 500 is retried with backoff and the second answer counts", async () => {
  const sink = await startSink((_, i) => new Response("", { status: i === 0 ? 500 : 200 }));
  const { notifier, sleeps, metrics } = setup({ SLACK_URL: sink.url });
  assert.deepEqual(await notifier.send(start), [{ target: "slack", ok: true, attempts: 2 }]);
  assert.equal(sink.requests.length, 2);
  assert.deepEqual(sleeps, [500]);
  assert.equal(metrics.get("sth_notifications_total", { target: "slack", outcome: "ok" }), 1);
});

sinkTest("a 400 is final: no retry, one failed outcome", async () => {
  const sink = await startSink(() => new Response("invalid_payload", { status: 400 }));
  const { notifier, sleeps, metrics, logger } = setup({ SLACK_URL: sink.url });
  assert.deepEqual(await notifier.send(start), [
    { target: "slack", ok: false, attempts: 1, error: "HTTP 400" },
  ]);
  assert.equal(sink.requests.length, 1);
  assert.deepEqual(sleeps, []);
  assert.equal(metrics.get("sth_notifications_total", { target: "slack", outcome: "failed" }), 1);
  assert.ok(
    logger.lines.some((l) => / WARN {2}notification failed target=slack status=400 /.test(l)),
  );
});

sinkTest("persistent 5xx stops after the configured number of attempts", async () => {
  const sink = await startSink(() => new Response("", { status: 503 }));
  const { notifier, sleeps } = setup({ SLACK_URL: sink.url });
  const [outcome] = await notifier.send(start);
  assert.deepEqual(outcome, { target: "slack", ok: false, attempts: 3, error: "HTTP 503" });
  assert.equal(sink.requests.length, 3);
  assert.deepEqual(sleeps, [500, 1000]);
});

sinkTest("a 429 waits as long as Retry-After says, capped at ten seconds", async () => {
  const waits = ["3", "3600"];
  const sink = await startSink((_, i) =>
    i < waits.length
      ? new Response("", { status: 429, headers: { "retry-after": waits[i] } })
      : new Response("ok")
  );
  const { notifier, sleeps } = setup({ SLACK_URL: sink.url }, { retries: 3 });
  assert.deepEqual(await notifier.send(start), [{ target: "slack", ok: true, attempts: 3 }]);
  assert.deepEqual(sleeps, [3000, 10_000]);
});

sinkTest("a 429 with an HTTP-date Retry-After waits until that date", async () => {
  const sink = await startSink((_, i) =>
    i === 0
      ? new Response("", {
        status: 429,
        headers: { "retry-after": new Date(Date.now() + 60_000).toUTCString() },
      })
      : new Response("ok")
  );
  const { notifier, sleeps } = setup({ SLACK_URL: sink.url });
  assert.equal((await notifier.send(start))[0].ok, true);
  assert.equal(sleeps.length, 1);
  assert.ok(sleeps[0] > 0 && sleeps[0] <= 10_000, String(sleeps[0]));
});

sinkTest("an attempt that gets no answer times out and is retried", async () => {
  const held: (() => void)[] = [];
  const sink = await startSink(() =>
    new Promise<Response>((resolve) => held.push(() => resolve(new Response("late"))))
  );
  try {
    const { notifier, logger } = setup({ SLACK_URL: sink.url }, { timeoutMs: 50, retries: 2 });
    assert.deepEqual(await notifier.send(start), [
      { target: "slack", ok: false, attempts: 2, error: "timed out after 50 ms" },
    ]);
    assert.equal(sink.requests.length, 2);
    assert.ok(logger.lines.some((l) => /notification failed target=slack status=timeout/.test(l)));
  } finally {
    for (const release of held) release();
  }
});

sinkTest("all targets are sent concurrently: a slow one does not hold up the others", async () => {
  const events: string[] = [];
  let othersArrived: () => void = () => {};
  const othersPromise = new Promise<void>((resolve) => (othersArrived = resolve));
  let others = 0;
  const arrived = (name: string) => () => {
    events.push(`${name} received`);
    if (++others === 2) othersArrived();
    return new Response("ok");
  };
  // Slack is first in the table: sent one by one, it would wait here until its timeout.
  const slow = await startSink(async () => {
    events.push("slack received");
    await othersPromise;
    events.push("slack answered");
    return new Response("ok");
  });
  const discord = await startSink(arrived("discord"));
  const webhook = await startSink(arrived("webhook"));
  const { notifier } = setup({
    SLACK_URL: slow.url,
    DISCORD_WEBHOOK: discord.url,
    WEBHOOK_URL: webhook.url,
  }, { timeoutMs: 5000, retries: 1 });
  const outcomes = await notifier.send(start);
  assert.deepEqual(outcomes.map((o) => [o.target, o.ok]), [
    ["slack", true],
    ["discord", true],
    ["webhook", true],
  ]);
  assert.equal(events.at(-1), "slack answered");
  assert.equal(events.length, 4);
});

sinkTest("secrets stay out of logs and outcomes, even in errors that quote the URL", async () => {
  const token = "T0SECRET/B0SECRET/XyZsecretTOKEN";
  const sink = await startSink(() => new Response("", { status: 500 }));
  const refused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const refusedPort = refused.addr.port;
  refused.close();
  const env = {
    SLACK_URL: `${sink.url}/services/${token}`,
    DISCORD_WEBHOOK: `http://127.0.0.1:${refusedPort}/api/webhooks/1/discordSECRET`,
    WEBHOOK_URL: "http://127.0.0.1:9/hook?token=webhookSECRET",
    WECHAT_URL: "http://127.0.0.1:9/send",
    WECHAT_KEY: "wechatSECRETkey",
  };
  const secrets = [
    "SECRET",
    "REDIRECTsecret",
    sink.url,
    `127.0.0.1:${refusedPort}`,
    "127.0.0.1:9",
  ];
  const realFetch = fetch;
  const fetchQuotingUrl: typeof fetch = (input, init) => {
    const url = String(input);
    if (url.startsWith(sink.url) || url.includes(`:${refusedPort}/`)) return realFetch(input, init);
    return Promise.reject(
      new TypeError(
        `error sending request for url (${url}): connection reset; key=wechatSECRETkey`,
        { cause: new Error("redirected to https://hooks.example.com/REDIRECTsecret first") },
      ),
    );
  };
  const { notifier, logger } = setup(env, { fetch: fetchQuotingUrl, retries: 2 });
  const outcomes = await notifier.send(start);
  assert.equal(outcomes.length, 4);
  assert.ok(outcomes.every((o) => !o.ok));
  const discord = outcomes.find((o) => o.target === "discord")!;
  assert.match(discord.error!, /^network error: .*Connection refused/);
  const everything = JSON.stringify(outcomes) + "\n" + logger.lines.join("\n");
  for (const secret of secrets) assert.ok(!everything.includes(secret), `leaked ${secret}`);
  assert.ok(everything.includes("[redacted"), "the error text is kept, with the secret replaced");
});

Deno.test("smtp failures are logged without the password and a 5xx is not retried", async () => {
  const sink = await startSmtpSink({ auth: { user: "relay", pass: "right" } });
  try {
    const { notifier, logger, sleeps } = setup({
      SMTP_URL: `smtp://relay:wrongSECRETpw@127.0.0.1:${sink.port}`,
      EMAIL_TO: "ops@example.com",
    });
    const [outcome] = await notifier.send(start);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.attempts, 1);
    assert.match(outcome.error!, /^SMTP AUTH: server replied 535 /);
    assert.deepEqual(sleeps, []);
    const everything = JSON.stringify(outcome) + logger.lines.join("\n");
    assert.ok(!everything.includes("wrongSECRETpw"));
    assert.ok(logger.lines.some((l) => /notification failed target=smtp status=535 /.test(l)));
  } finally {
    await sink.close();
  }
});

Deno.test("an aborted send stops without retrying", async () => {
  const controller = new AbortController();
  controller.abort();
  const smtp: SmtpSender = {
    send: (_mail, options) =>
      options?.signal?.aborted ? Promise.reject(new Error("aborted")) : Promise.resolve(),
  };
  const { notifier, sleeps } = setup({ SMTP_URL: "smtp://127.0.0.1:25", EMAIL_TO: "o@e.com" }, {
    smtp,
  });
  assert.deepEqual(await notifier.send(start, { signal: controller.signal }), [
    { target: "smtp", ok: false, attempts: 0, error: "aborted" },
  ]);
  assert.deepEqual(sleeps, []);
});

sinkTest("aborting during an attempt ends it at once and skips the retries", async () => {
  const controller = new AbortController();
  const held: (() => void)[] = [];
  const sink = await startSink(() => {
    controller.abort();
    return new Promise<Response>((resolve) => held.push(() => resolve(new Response("late"))));
  });
  try {
    const { notifier, sleeps } = setup({ SLACK_URL: sink.url }, { timeoutMs: 60_000 });
    assert.deepEqual(await notifier.send(start, { signal: controller.signal }), [
      { target: "slack", ok: false, attempts: 1, error: "aborted" },
    ]);
    assert.equal(sink.requests.length, 1);
    assert.deepEqual(sleeps, []);
  } finally {
    for (const release of held) release();
  }
});

Deno.test("a notifier without targets sends nothing and says so", async () => {
  const { notifier } = setup({ HIPCHAT_AUTH_TOKEN: "t", SLACK_CHANNEL: "#ops" });
  assert.deepEqual(notifier.targets, []);
  assert.deepEqual(await notifier.send(start), []);
});

Deno.test("targets are listed in table order", () => {
  const { notifier } = setup({
    WEBHOOK_URL: "http://127.0.0.1:9/a",
    SLACK_URL: "http://127.0.0.1:9/b",
    EMAIL_TO: "o@e.com",
    SMTP_URL: "smtp://127.0.0.1",
    GMAIL_USER: "u",
    GMAIL_PASS: "p",
    GMAIL_EMAILTO: "o@e.com",
  });
  assert.deepEqual(notifier.targets, ["slack", "webhook", "gmail", "smtp"]);
});

// ---------------------------------------------------------------------------------------------
// Variables, validation, warnings

Deno.test("NOTIFIER_VARIABLES lists every variable once, with secrets marked", () => {
  const names = NOTIFIER_VARIABLES.map((v) => v.name);
  assert.equal(new Set(names).size, names.length);
  for (
    const name of [
      "SLACK_URL",
      "SLACK_CHANNEL",
      "MATTERMOST_WEBHOOK",
      "MATTERMOST_USERNAME",
      "MATTERMOST_ICON_URL",
      "MATTERMOST_CHANNEL",
      "SEMATEXT_URL",
      "WECHAT_URL",
      "WECHAT_KEY",
      "HANGOUTS_URL",
      "GMAIL_USER",
      "GMAIL_PASS",
      "GMAIL_EMAILTO",
      "SMTP_URL",
      "EMAIL_TO",
      "EMAIL_FROM",
      "TEAMS_WEBHOOK",
      "DISCORD_WEBHOOK",
      "WEBHOOK_URL",
      "HIPCHAT_AUTH_TOKEN",
      "HIPCHAT_ROOM_ID",
    ]
  ) {
    assert.ok(names.includes(name), name);
  }
  const secret = NOTIFIER_VARIABLES.filter((v) => v.secret).map((v) => v.name).sort();
  assert.deepEqual(secret, [
    "DISCORD_WEBHOOK",
    "GMAIL_PASS",
    "HANGOUTS_URL",
    "HIPCHAT_AUTH_TOKEN",
    "MATTERMOST_WEBHOOK",
    "SEMATEXT_URL",
    "SLACK_URL",
    "SMTP_URL",
    "TEAMS_WEBHOOK",
    "WEBHOOK_HEADERS",
    "WEBHOOK_TEMPLATE",
    "WEBHOOK_URL",
    "WECHAT_KEY",
    "WECHAT_URL",
  ]);
  assert.ok(NOTIFIER_VARIABLES.every((v) => v.target && v.description));
});

Deno.test("validateNotifierEnv names the variable and never echoes a secret", () => {
  const problems = validateNotifierEnv({
    SLACK_URL: "hooks.slack.com/services/SECRET1",
    MATTERMOST_WEBHOOK: "ftp://mm.example.com/hooks/SECRET2",
    MATTERMOST_ICON_URL: "not a url",
    SMTP_URL: "https://user:SECRET3@mail.example.com",
    EMAIL_TO: "ops@example.com, nobody",
    EMAIL_FROM: "no address",
    GMAIL_PASS: "SECRET4",
    DISCORD_WEBHOOK: "http://127.0.0.1/ok",
  });
  assert.deepEqual(problems, [
    "SLACK_URL: not an http(s) URL",
    "MATTERMOST_WEBHOOK: not an http(s) URL",
    "MATTERMOST_ICON_URL: not an http(s) URL",
    "GMAIL_USER: required with GMAIL_PASS",
    "GMAIL_EMAILTO: required with GMAIL_PASS",
    "SMTP_URL: scheme must be smtp: or smtps:",
    'EMAIL_TO: "nobody" is not an e-mail address',
    'EMAIL_FROM: "no address" is not an e-mail address',
  ]);
  assert.ok(!problems.join("\n").includes("SECRET"));
});

Deno.test("validateNotifierEnv accepts a complete setup and treats empty values as unset", () => {
  assert.deepEqual(
    validateNotifierEnv({
      SLACK_URL: "https://hooks.slack.com/services/T/B/X",
      SLACK_CHANNEL: "",
      SMTP_URL: "smtps://u:p@mail.example.com:465",
      EMAIL_TO: "a@example.com b@example.com",
      GMAIL_USER: "",
      WEBHOOK_URL: " https://example.com/hook\n",
    }),
    [],
  );
  assert.deepEqual(validateNotifierEnv({ EMAIL_TO: "a@example.com" }), [
    "SMTP_URL: required with EMAIL_TO",
  ]);
  assert.deepEqual(validateNotifierEnv({ SMTP_URL: "smtp://u@mail.example.com" }), [
    "SMTP_URL: user name without password",
    "EMAIL_TO: required with SMTP_URL",
  ]);
});

Deno.test("notifierWarnings flags HipChat and optional variables without their target", () => {
  assert.deepEqual(
    notifierWarnings({
      HIPCHAT_AUTH_TOKEN: "tok",
      HIPCHAT_ROOM_ID: "42",
      SLACK_CHANNEL: "#ops",
      MATTERMOST_USERNAME: "bot",
      MATTERMOST_CHANNEL: "x",
      EMAIL_FROM: "a@example.com",
      DISCORD_WEBHOOK: "http://127.0.0.1/x",
    }),
    [
      "SLACK_CHANNEL: set without SLACK_URL; ignored",
      "MATTERMOST_USERNAME, MATTERMOST_CHANNEL: set without MATTERMOST_WEBHOOK; ignored",
      "EMAIL_FROM: set without SMTP_URL, EMAIL_TO; ignored",
      "HIPCHAT_AUTH_TOKEN, HIPCHAT_ROOM_ID: HipChat was shut down in 2019; ignored",
    ],
  );
  assert.deepEqual(notifierWarnings({ HIPCHAT_ROOM_ID: "42" }), [
    "HIPCHAT_ROOM_ID: HipChat was shut down in 2019; ignored",
  ]);
  assert.deepEqual(notifierWarnings({ SLACK_URL: "https://x", SLACK_CHANNEL: "#a" }), []);
});

Deno.test("createNotifier refuses invalid settings, naming the variable but not the value", () => {
  assert.throws(
    () => createNotifier({ SLACK_URL: "SECRETVALUE" }, { logger: createMemoryLogger() }),
    (error: Error) => {
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "notifier settings: SLACK_URL: not an http(s) URL");
      return true;
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Maintenance announcements, cancellations and the node's return

const maintenanceNotice: Notice = {
  id: "scheduled-maintenance:instance-event-1",
  kind: "scheduled-maintenance",
  noticeTime: new Date("2026-12-08T09:00:00Z"),
  notAfter: new Date("2026-12-08T11:00:00Z"),
  deadline: new Date("2026-12-08T08:59:55Z"),
  action: "system-reboot",
  raw: "{}",
};

Deno.test("a maintenance announcement names NotBefore, NotAfter, the code and when the handler acts", () => {
  const announce: Message = {
    phase: "start",
    notice: maintenanceNotice,
    context,
    dryRun: false,
    plan: ["cordon", "taint", "drain"],
    actionAt: new Date("2026-12-08T08:45:00Z"),
  };
  const text = messageText(announce);
  assert.match(text, /^Notice: scheduled-maintenance \(system-reboot\)$/m);
  assert.match(text, /^Not Before: 2026-12-08T09:00:00.000Z$/m);
  assert.match(text, /^Not After: 2026-12-08T11:00:00.000Z$/m);
  assert.match(text, /^Action At: 2026-12-08T08:45:00.000Z$/m);
  const hook = webhookPayload(announce);
  assert.equal(hook.event, "notice");
  assert.equal(hook.notAfter, "2026-12-08T11:00:00.000Z");
  assert.equal(hook.actionAt, "2026-12-08T08:45:00.000Z");
  assert.equal(webhookPayload(start).actionAt, undefined, "a spot notice has none");
});

Deno.test("a canceled message says nothing was done, as information", () => {
  const canceled: Message = {
    phase: "canceled",
    notice: maintenanceNotice,
    context,
    dryRun: false,
    plan: [],
    state: "canceled",
  };
  assert.equal(messageTitle(canceled), "Scheduled Maintenance Canceled");
  assert.equal(
    messageTitle({ ...canceled, state: "completed" }),
    "Scheduled Maintenance Completed",
  );
  assert.equal(severity(canceled), "info");
  assert.match(messageText(canceled), /Outcome: canceled before its time; the handler did nothing/);
  const hook = webhookPayload(canceled);
  assert.equal(hook.event, "canceled");
  assert.equal(hook.state, "canceled");
  assert.equal(hook.result, undefined);
  assert.equal(sematextPayload(canceled).type, "aws_scheduled_maintenance_canceled");
  assert.equal(mailContent(canceled).subject, "Scheduled Maintenance Canceled");
});

Deno.test("a back-in-service message says why, whether the cordon was lifted and what was removed", () => {
  const returned: Message = {
    phase: "returned",
    notice: { ...notice, action: "stop" },
    context,
    dryRun: false,
    plan: [],
    returned: {
      why: "rebooted",
      uncordoned: false,
      removed: ["taint spot-termination-handler/notice"],
    },
  };
  assert.equal(messageTitle(returned), "Spot Stop: Back in Service");
  assert.equal(severity(returned), "good");
  const text = messageText(returned);
  assert.match(text, /^Why: the node's boot ID changed: the instance is back$/m);
  assert.match(text, /^Cordon: kept: the node was cordoned before the handler$/m);
  assert.match(text, /^Removed: taint spot-termination-handler\/notice$/m);
  const hook = webhookPayload(returned);
  assert.equal(hook.event, "returned");
  assert.deepEqual(hook.returned, returned.returned);
  assert.equal(sematextPayload(returned).type, "aws_spot_instance_terminated_returned");
  const slack = slackPayload(returned) as { attachments: { color: string }[] };
  assert.equal(slack.attachments[0].color, "good");
});
