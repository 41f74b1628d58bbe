import assert from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { createMemoryLogger } from "../lib/log.ts";
import type { Notice } from "../lib/notice.ts";
import { createNotifier } from "../lib/notify.ts";
import type { Message } from "../lib/notify_message.ts";
import { validateNotifierEnv } from "../lib/notify_env.ts";
import { webhookPayload } from "../lib/notify_webhook_event.ts";
import { TEMPLATE_FIELDS, templateView } from "../lib/webhook_fields.ts";
import { parseWebhookHeaders } from "../lib/webhook_headers.ts";
import { webhookProblems } from "../lib/webhook_settings.ts";
import {
  compileWebhookTemplate,
  loadTemplateEngine,
  loadTemplateFile,
  TEMPLATE_FILE_LIMIT,
  usesWebhookTemplate,
  type WebhookTemplate,
} from "../lib/webhook_template.ts";
import { demoPods } from "../tools/fake_apiserver.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { withHandler } from "../tools/stack.ts";

const NODE = "ip-10-0-1-23.ec2.internal";

await loadTemplateEngine();

const notice: Notice = {
  id: "spot-interruption:2026-11-25T10:02:00Z",
  kind: "spot-interruption",
  action: "terminate",
  noticeTime: new Date("2026-11-25T10:02:00Z"),
  deadline: new Date("2026-11-25T10:01:55Z"),
  raw: "",
};
const start: Message = {
  phase: "start",
  notice,
  context: {
    cluster: "prod",
    node: "ip-10-0-1-23.ec2.internal",
    instanceId: "i-0123456789abcdef0",
    instanceType: "m5.large",
    availabilityZone: "us-east-1a",
    region: "us-east-1",
  },
  dryRun: false,
  plan: ["cordon", "taint", "drain", "detach-asg"],
};
const result: Message = {
  ...start,
  phase: "result",
  report: {
    drain: {
      status: "partial",
      evicted: ["default/web-0", "default/web-1"],
      remaining: [{ pod: "default/db-0", reason: "blocked by PodDisruptionBudget until deadline" }],
      failed: [],
      skipped: [{ pod: "kube-system/kube-proxy-x", reason: "DaemonSet pod" }],
    },
    asg: { status: "detached", group: "spot-workers" },
  },
};
const cleanResult: Message = {
  ...result,
  report: {
    drain: {
      status: "drained",
      evicted: ["default/web-0"],
      remaining: [],
      failed: [],
      skipped: [],
    },
  },
} as Message;

function compiled(source: string, contentType?: string): WebhookTemplate {
  const t = compileWebhookTemplate(source, contentType);
  assert.ok(!("problems" in t), "problems" in t ? t.problems.join("; ") : "");
  return t;
}

function problemsOf(source: string, contentType?: string): string[] {
  const t = compileWebhookTemplate(source, contentType);
  assert.ok("problems" in t, `expected ${JSON.stringify(source)} to be refused`);
  return t.problems;
}

const DOC = Deno.readTextFileSync(new URL("../docs/notifications.md", import.meta.url));

/** The example templates of docs/notifications.md, by the name in their marker comment. */
function documentedTemplate(name: string): string {
  const m = DOC.match(
    new RegExp(`<!-- template: ${name} -->\\s*\`\`\`mustache\\n([\\s\\S]*?)\`\`\``),
  );
  assert.ok(m, `docs/notifications.md has the ${name} example`);
  return m[1];
}

Deno.test("templateView offers exactly the documented fields", () => {
  const names = (fields: readonly { name: string }[]) => fields.map((f) => f.name).sort();
  const view = templateView(result);
  assert.deepEqual(Object.keys(view).sort(), names(TEMPLATE_FIELDS));
  const resultFields = TEMPLATE_FIELDS.find((f) => f.name === "result")!.fields!;
  assert.deepEqual(Object.keys(view.result as object).sort(), names(resultFields));
  assert.equal("result" in templateView(start), false, "a start message has no result");
  assert.equal(Object.getPrototypeOf(view), null, "the view is plain data");
});

Deno.test("{{name}} escapes for JSON, so odd values keep the body valid JSON", () => {
  const odd: Message = {
    ...start,
    context: { ...start.context, node: 'a "quoted"\\ node\nwith a newline' },
  };
  const body = compiled('{"node":"{{node}}","plan":"{{planText}}","raw":{{{payloadJson}}}}')
    .render(odd);
  const parsed = JSON.parse(body);
  assert.equal(parsed.node, odd.context.node);
  assert.equal(parsed.plan, "cordon, taint, drain, detach-asg");
  assert.deepEqual(parsed.raw, JSON.parse(JSON.stringify(webhookPayload(odd))));
});

Deno.test("{{name}} percent-encodes for forms and inserts as is for other types", () => {
  const form = compiled("text={{summary}}", "application/x-www-form-urlencoded").render(start);
  assert.equal(new URLSearchParams(form).get("text"), templateView(start).summary);
  const plain = compiled("{{title}}: {{node}} <{{kind}}>", "text/plain").render(start);
  assert.equal(plain, "Spot Termination: ip-10-0-1-23.ec2.internal <spot-interruption>");
});

Deno.test("sections repeat lists and show text by phase and outcome", () => {
  const t = compiled(
    "{{#isNotice}}N{{/isNotice}}{{#isResult}}R{{#needsAttention}}!{{/needsAttention}}" +
      "{{#result.remaining}}[{{pod}}: {{reason}}]{{/result.remaining}}" +
      "{{#result}}{{evictedCount}} {{#evicted}}{{.}},{{/evicted}}{{#asg}}{{status}}{{/asg}}{{/result}}" +
      "{{/isResult}}",
    "text/plain",
  );
  assert.equal(t.render(start), "N");
  assert.equal(
    t.render(result),
    "R![default/db-0: blocked by PodDisruptionBudget until deadline]2 default/web-0,default/web-1,detached",
  );
  assert.equal(t.render(cleanResult), "R1 default/web-0,");
});

Deno.test("a template that does not parse, names an unknown field or reaches outside the data is refused", () => {
  assert.match(problemsOf('{"a":"{{#node}}"}')[0], /^does not parse: Unclosed section "node"/);
  assert.match(problemsOf("{{node")[0], /^does not parse: Unclosed tag/);
  assert.deepEqual(problemsOf('{"a":"{{nodee}}"}'), ['unknown field "nodee"']);
  assert.deepEqual(problemsOf("{{constructor.constructor}}", "text/plain"), [
    'unknown field "constructor.constructor"',
  ]);
  assert.deepEqual(problemsOf("{{#plan}}{{length}}{{/plan}}", "text/plain"), [
    'unknown field "length"',
  ]);
  assert.deepEqual(problemsOf("{{> header}}", "text/plain"), [
    "partials ({{> header}}) are not supported",
  ]);
  assert.deepEqual(problemsOf("{{#result}}{{pod}}{{/result}}", "text/plain"), [
    'unknown field "pod"',
  ]);
});

Deno.test("a JSON template that renders invalid JSON for an example message is refused at start-up", () => {
  const [unquoted] = problemsOf('{"node": {{node}}}');
  assert.match(unquoted, /^renders invalid JSON for an example start message/);
  // Valid for a start message, broken for a result: the result is tried too.
  const [count] = problemsOf(
    '{"n": 1{{#isResult}}, "count": {{result.evictedCount}},{{/isResult}}}',
  );
  assert.match(count, /example result message/);
  // The same text is fine when it is not JSON.
  compiled('{"node": {{node}}}', "text/plain");
});

Deno.test("the PagerDuty Events v2 example renders a valid event for the notice and the result", () => {
  const t = compiled(documentedTemplate("pagerduty"));
  const severities = ["critical", "error", "warning", "info"];
  for (
    const [message, severity] of [[start, "warning"], [result, "error"], [
      cleanResult,
      "info",
    ]] as const
  ) {
    const event = JSON.parse(t.render(message));
    assert.equal(event.event_action, "trigger");
    assert.equal(event.dedup_key, notice.id);
    assert.ok(event.routing_key);
    assert.ok(event.payload.summary.length > 0 && event.payload.summary.length <= 1024);
    assert.equal(event.payload.source, start.context.node);
    assert.ok(severities.includes(event.payload.severity));
    assert.equal(event.payload.severity, severity);
    assert.equal(event.payload.custom_details.schemaVersion, 1);
  }
});

Deno.test("the Opsgenie example renders a valid alert, its headers parse", () => {
  const t = compiled(documentedTemplate("opsgenie"));
  for (const message of [start, result]) {
    const alert = JSON.parse(t.render(message));
    assert.ok(alert.message.length > 0 && alert.message.length <= 130, alert.message);
    assert.equal(alert.alias, notice.id);
    assert.match(alert.priority, /^P[1-5]$/);
    assert.ok(alert.description.length <= 15000);
    assert.deepEqual(alert.tags, ["spot-termination-handler", "spot-interruption"]);
  }
  assert.equal(
    JSON.parse(t.render(start)).message,
    "Spot Termination (prod): ip-10-0-1-23.ec2.internal",
  );
  const header = DOC.match(/`WEBHOOK_HEADERS=([^`]+)`/)?.[1];
  assert.deepEqual(parseWebhookHeaders(header!), {
    headers: { Authorization: "GenieKey YOUR_API_KEY" },
  });
});

Deno.test("parseWebhookHeaders reads lines or JSON and refuses bad names, reserved headers and line breaks", () => {
  assert.deepEqual(parseWebhookHeaders("Authorization: Bearer a:b\n\nX-Team:ops"), {
    headers: { Authorization: "Bearer a:b", "X-Team": "ops" },
  });
  assert.deepEqual(parseWebhookHeaders('{"Authorization":"Bearer t"}'), {
    headers: { Authorization: "Bearer t" },
  });
  const problems = (text: string) => {
    const parsed = parseWebhookHeaders(text);
    assert.ok("problems" in parsed, text);
    return parsed.problems;
  };
  assert.deepEqual(problems("Bearer secret-token"), ['line 1 is not "Name: value"']);
  assert.deepEqual(problems('{"X-Evil":"a\\r\\nHost: other"}'), [
    "the value of X-Evil must be text on one line",
  ]);
  assert.deepEqual(problems("Content-Type: text/plain"), [
    "Content-Type is set by the handler (use WEBHOOK_CONTENT_TYPE)",
  ]);
  assert.deepEqual(problems("Bad Name: x"), ['"Bad Name" is not a header name']);
  assert.deepEqual(problems("[1]"), ['line 1 is not "Name: value"']);
  assert.deepEqual(problems('{"a": 1}'), ["the value of a must be text on one line"]);
  for (
    const p of [...problems("Authorization secret-token"), ...problems('{"A":"x\\nsecret-token"}')]
  ) {
    assert.doesNotMatch(p, /secret-token/);
  }
});

Deno.test("validateNotifierEnv reports the webhook's template, headers and content type by name", () => {
  const url = "https://hooks.example.com/spot";
  assert.deepEqual(validateNotifierEnv({ WEBHOOK_URL: url, WEBHOOK_TEMPLATE: '{"a":"{{a}}"}' }), [
    'WEBHOOK_TEMPLATE: unknown field "a"',
  ]);
  assert.deepEqual(
    validateNotifierEnv({
      WEBHOOK_URL: url,
      WEBHOOK_HEADERS: "nope",
      WEBHOOK_CONTENT_TYPE: "json",
    }),
    [
      'WEBHOOK_CONTENT_TYPE: "json" is not a media type',
      'WEBHOOK_HEADERS: line 1 is not "Name: value"',
    ],
  );
  assert.deepEqual(validateNotifierEnv({ WEBHOOK_URL: url, WEBHOOK_CONTENT_TYPE: "text/plain" }), [
    "WEBHOOK_CONTENT_TYPE: the built-in body is JSON; set WEBHOOK_TEMPLATE too",
  ]);
  assert.deepEqual(webhookProblems({ WEBHOOK_TEMPLATE: '{"t":"{{title}}"}' }), []);
});

Deno.test("loadConfig reads WEBHOOK_TEMPLATE_FILE once and reports its problems as config errors", () => {
  const env = { NODE_NAME: "n1", WEBHOOK_URL: "https://hooks.example.com/x" };
  const files: Record<string, Uint8Array> = {
    "/etc/spot-termination-handler/pd.json": new TextEncoder().encode('{"s":"{{summary}}"}'),
    "/etc/spot-termination-handler/bad.json": new TextEncoder().encode('{"s":{{summary}}}'),
    "/etc/spot-termination-handler/big.json": new Uint8Array(TEMPLATE_FILE_LIMIT + 1),
    "/etc/spot-termination-handler/latin1.txt": new Uint8Array([0xff, 0xfe, 0x41]),
  };
  let reads = 0;
  const readFile = (path: string) => {
    reads++;
    if (path.startsWith("/tmp/")) throw new Deno.errors.NotCapable(`read access to "${path}"`);
    const bytes = files[path];
    if (!bytes) throw new Deno.errors.NotFound(path);
    return bytes;
  };
  const ok = loadConfig(
    { ...env, WEBHOOK_TEMPLATE_FILE: "/etc/spot-termination-handler/pd.json" },
    {
      readFile,
    },
  );
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.config!.notifierEnv.WEBHOOK_TEMPLATE, '{"s":"{{summary}}"}');
  assert.equal(reads, 1);

  const errors = (path: string, extra: Record<string, string> = {}) =>
    loadConfig({ ...env, ...extra, WEBHOOK_TEMPLATE_FILE: path }, { readFile }).errors;
  assert.match(
    errors("/etc/spot-termination-handler/bad.json")[0],
    /^WEBHOOK_TEMPLATE_FILE \/etc\/spot-termination-handler\/bad\.json: renders invalid JSON/,
  );
  assert.deepEqual(errors("/etc/spot-termination-handler/none.json"), [
    "WEBHOOK_TEMPLATE_FILE: /etc/spot-termination-handler/none.json does not exist",
  ]);
  assert.deepEqual(errors("/tmp/t.json"), [
    "WEBHOOK_TEMPLATE_FILE: cannot read /tmp/t.json: the handler may read files only under /etc/spot-termination-handler/",
  ]);
  assert.match(errors("/etc/spot-termination-handler/big.json")[0], /is over 65536 bytes/);
  assert.match(errors("/etc/spot-termination-handler/latin1.txt")[0], /is not UTF-8 text/);
  assert.deepEqual(errors("/etc/spot-termination-handler/pd.json", { WEBHOOK_TEMPLATE: "{}" }), [
    "WEBHOOK_TEMPLATE_FILE: set either it or WEBHOOK_TEMPLATE, not both",
  ]);
  assert.deepEqual(
    loadTemplateFile("/x", undefined, () => {
      throw new Error("disk on fire");
    }),
    { problem: "WEBHOOK_TEMPLATE_FILE: cannot read /x: disk on fire" },
  );
});

Deno.test("the webhook sends the rendered template with its content type and headers, and never logs a header value", async () => {
  const requests: { url: string; init: RequestInit }[] = [];
  let status = 200;
  const fakeFetch = ((url: string, init: RequestInit) => {
    requests.push({ url, init });
    return Promise.resolve(new Response("", { status }));
  }) as typeof fetch;
  const logger = createMemoryLogger();
  const notifier = createNotifier({
    WEBHOOK_URL: "https://relay.example.com/spot",
    WEBHOOK_TEMPLATE: "node={{node}}&event={{event}}",
    WEBHOOK_CONTENT_TYPE: "application/x-www-form-urlencoded",
    WEBHOOK_HEADERS: "Authorization: Bearer sekrit-token-123\nX-Team: ops",
  }, { logger, fetch: fakeFetch, retries: 2, sleep: () => Promise.resolve() });
  const [ok] = await notifier.send(start);
  assert.equal(ok.ok, true);
  const headers = requests[0].init.headers as Record<string, string>;
  assert.equal(headers["content-type"], "application/x-www-form-urlencoded");
  assert.equal(headers.Authorization, "Bearer sekrit-token-123");
  assert.equal(headers["X-Team"], "ops");
  assert.equal(requests[0].init.body, "node=ip-10-0-1-23.ec2.internal&event=notice");

  status = 500;
  const [failed] = await notifier.send(result);
  assert.equal(failed.ok, false);
  assert.equal(requests.length, 3);
  assert.doesNotMatch(logger.lines.join("\n"), /sekrit/);
});

Deno.test("the built-in webhook body is unchanged without a template", async () => {
  const bodies: string[] = [];
  const fakeFetch = ((_url: string, init: RequestInit) => {
    bodies.push(String(init.body));
    return Promise.resolve(new Response(""));
  }) as typeof fetch;
  const notifier = createNotifier({ WEBHOOK_URL: "https://hooks.example.com/x" }, {
    logger: createMemoryLogger(),
    fetch: fakeFetch,
  });
  await notifier.send(result);
  assert.deepEqual(JSON.parse(bodies[0]), JSON.parse(JSON.stringify(webhookPayload(result))));
});

Deno.test("e2e: main.ts exits 2 with a config error for a broken template and a file outside its folder, quoting no secret", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.json`, '{"k":"{{summary}}"}');
    const handler = spawnHandler({
      env: {
        NODE_NAME: "n1",
        WEBHOOK_URL: "https://hooks.example.com/x",
        WEBHOOK_TEMPLATE: '{"routing_key":"rk-SECRET-1","s":"{{#summary}}"}',
        WEBHOOK_HEADERS: "Authorization Bearer hdr-SECRET-2",
      },
    });
    assert.equal((await handler.status).code, 2);
    const problems = handler.lines.filter((l) => l.startsWith("config error: "));
    assert.deepEqual(problems, [
      'config error: WEBHOOK_HEADERS: line 1 is not "Name: value"',
      'config error: WEBHOOK_TEMPLATE: does not parse: Unclosed section "summary" at 48',
    ]);
    assert.doesNotMatch(handler.lines.join("\n"), /SECRET/);

    // The shipped permissions let the handler read /etc/spot-termination-handler only.
    const outside = spawnHandler({
      env: {
        NODE_NAME: "n1",
        WEBHOOK_URL: "https://hooks.example.com/x",
        WEBHOOK_TEMPLATE_FILE: `${dir}/t.json`,
      },
    });
    assert.equal((await outside.status).code, 2);
    assert.ok(
      outside.lines.includes(
        `config error: WEBHOOK_TEMPLATE_FILE: cannot read ${dir}/t.json: the handler may read files only under /etc/spot-termination-handler/`,
      ),
      outside.lines.join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("e2e: a spot interruption reaches the webhook as a PagerDuty event with the configured header", async () => {
  const template = documentedTemplate("pagerduty").replace("YOUR_INTEGRATION_KEY", "rk-123");
  await withHandler(
    {
      node: NODE,
      api: { pods: demoPods(NODE) },
      imds: { scenario: { spot: { action: "terminate", afterMs: 300 } } },
    },
    {
      CLUSTER: "prod",
      WEBHOOK_TEMPLATE: template,
      WEBHOOK_HEADERS: "Authorization: Token token=relay-SECRET",
    },
    async (stack, handler) => {
      const [notice, outcome] = await stack.sink.waitFor(2, { pathPrefix: "/webhook" });
      await handler.waitForLine(/notice handled/);
      for (const request of [notice, outcome]) {
        assert.equal(request.contentType, "application/json");
        assert.equal(request.headers.authorization, "Token token=relay-SECRET");
        const event = JSON.parse(request.body);
        assert.equal(event.routing_key, "rk-123");
        assert.equal(event.payload.source, NODE);
        assert.match(event.dedup_key, /^spot-interruption:/);
      }
      assert.equal(JSON.parse(notice.body).payload.severity, "warning");
      assert.match(JSON.parse(outcome.body).payload.summary, /^Spot Termination Result \(prod\)/);
      assert.doesNotMatch(handler.lines.join("\n"), /relay-SECRET|rk-123/);
    },
  );
});

Deno.test("the template engine is needed only when a template or template file is set", () => {
  assert.equal(usesWebhookTemplate({ WEBHOOK_URL: "https://x" }), false);
  assert.equal(usesWebhookTemplate({ WEBHOOK_TEMPLATE: "  " }), false);
  assert.equal(usesWebhookTemplate({ WEBHOOK_TEMPLATE: "{}" }), true);
  assert.equal(
    usesWebhookTemplate({ WEBHOOK_TEMPLATE_FILE: "/etc/spot-termination-handler/t" }),
    true,
  );
});
