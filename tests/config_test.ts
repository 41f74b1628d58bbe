import assert from "node:assert/strict";
import { fileReadable, loadConfig, redactConfig } from "../lib/config.ts";
import { CORE_VARIABLES, helpText } from "../lib/config_variables.ts";

const NODE = { NODE_NAME: "ip-10-0-0-1" };

Deno.test("loadConfig applies the documented defaults", () => {
  const { config, errors, warnings } = loadConfig(NODE);
  assert.deepEqual(errors, []);
  assert.deepEqual(warnings, []);
  assert.equal(config!.pollIntervalMs, 1000);
  assert.equal(config!.gracePeriodSeconds, undefined);
  assert.equal(config!.detachAsg, false);
  assert.equal(config!.excludeFromLoadBalancers, true);
  assert.equal(config!.maintenanceLeadMs, 15 * 60_000);
  assert.deepEqual(config!.actions, {
    "spot-interruption": "drain",
    "scheduled-maintenance": "drain",
    "asg-termination": "drain",
    "rebalance-recommendation": "notify",
  });
  assert.equal(config!.imdsEndpoint, "http://169.254.169.254");
  assert.equal(config!.imdsV1Disabled, false);
  assert.equal(config!.dryRun, false);
  assert.equal(config!.logFormat, "text");
  assert.equal(config!.logLevel, "info");
  assert.equal(config!.metricsPort, 9092);
  assert.deepEqual(config!.notifierEnv, {});
});

Deno.test("loadConfig reads every core variable", () => {
  const { config, errors } = loadConfig({
    ...NODE,
    POD_NAME: "sth-abc",
    NAMESPACE: "kube-system",
    CLUSTER: "prod",
    POLL_INTERVAL: "0.5",
    GRACE_PERIOD: "30",
    DETACH_ASG: "true",
    EXCLUDE_FROM_LOAD_BALANCERS: "off",
    REBALANCE_ACTION: "DRAIN",
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:1338/",
    AWS_EC2_METADATA_V1_DISABLED: "true",
    NOTICE_URL: "http://127.0.0.1:1338/latest/meta-data/spot/termination-time",
    AWS_REGION: "eu-west-1",
    AWS_ENDPOINT_URL_AUTO_SCALING: "http://127.0.0.1:5000",
    KUBECONFIG: "/tmp/kc",
    DRY_RUN: "yes",
    LOG_FORMAT: "json",
    LOG_LEVEL: "warn",
    METRICS_PORT: "0",
  });
  assert.deepEqual(errors, []);
  assert.equal(config!.pollIntervalMs, 500);
  assert.equal(config!.gracePeriodSeconds, 30);
  assert.equal(config!.detachAsg, true);
  assert.equal(config!.excludeFromLoadBalancers, false);
  assert.equal(config!.actions["rebalance-recommendation"], "drain");
  assert.equal(config!.imdsEndpoint, "http://127.0.0.1:1338", "trailing slash is dropped");
  assert.equal(config!.imdsV1Disabled, true);
  assert.equal(config!.noticeUrl, "http://127.0.0.1:1338/latest/meta-data/spot/termination-time");
  assert.equal(config!.awsRegion, "eu-west-1");
  assert.equal(config!.asgEndpoint, "http://127.0.0.1:5000");
  assert.equal(config!.kubeconfigPath, "/tmp/kc");
  assert.equal(config!.dryRun, true);
  assert.equal(config!.logFormat, "json");
  assert.equal(config!.logLevel, "warn");
  assert.equal(config!.metricsPort, 0);
  assert.equal(config!.podName, "sth-abc");
  assert.equal(config!.cluster, "prod");
});

Deno.test("loadConfig reads one action per kind of notice", () => {
  const { config, errors } = loadConfig({
    ...NODE,
    SPOT_ACTION: "notify",
    MAINTENANCE_ACTION: "Cordon",
    ASG_ACTION: " drain ",
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.actions, {
    "spot-interruption": "notify",
    "scheduled-maintenance": "cordon",
    "asg-termination": "drain",
    "rebalance-recommendation": "notify",
  });
  const bad = loadConfig({ ...NODE, ASG_ACTION: "terminate" }).errors;
  assert.deepEqual(bad, [
    'ASG_ACTION: expected one of notify, cordon, drain, got "terminate"',
  ]);
});

Deno.test("loadConfig reads MAINTENANCE_LEAD as a duration and refuses anything else", () => {
  const lead = (v: string) => loadConfig({ ...NODE, MAINTENANCE_LEAD: v });
  assert.equal(lead("10m").config!.maintenanceLeadMs, 600_000);
  assert.equal(lead("1h30m").config!.maintenanceLeadMs, 5_400_000);
  assert.equal(lead(" 90S ").config!.maintenanceLeadMs, 90_000);
  assert.equal(lead("0").config!.maintenanceLeadMs, 0);
  for (const bad of ["10", "ten minutes", "-5m", "1d", "m", "200h"]) {
    const { errors } = lead(bad);
    assert.equal(errors.length, 1, bad);
    assert.match(errors[0], /^MAINTENANCE_LEAD: /, bad);
  }
});

Deno.test("loadConfig honours the old script's identity URLs and refuses ones that are not URLs", () => {
  const { config, errors } = loadConfig({
    ...NODE,
    AZ_URL: "http://127.0.0.1:1338/latest/meta-data/placement/availability-zone",
    INSTANCE_ID_URL: "http://127.0.0.1:1338/latest/meta-data/instance-id/",
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(config!.identityUrls, {
    availabilityZone: "http://127.0.0.1:1338/latest/meta-data/placement/availability-zone",
    instanceId: "http://127.0.0.1:1338/latest/meta-data/instance-id/",
  }, "read as given, like NOTICE_URL");
  assert.deepEqual(loadConfig(NODE).config!.identityUrls, {});
  const bad = loadConfig({ ...NODE, INSTANCE_TYPE_URL: "169.254.169.254/latest/meta-data/x" });
  assert.deepEqual(bad.errors.map((e) => e.split(":")[0]), ["INSTANCE_TYPE_URL"]);
});

Deno.test("loadConfig turns DETACH_ASG on for any value but false, as the old script did", () => {
  for (const v of ["true", "1", "yes", "my-asg", "TRUE"]) {
    assert.equal(loadConfig({ ...NODE, DETACH_ASG: v }).config!.detachAsg, true, v);
  }
  for (const v of ["false", "FALSE", " false "]) {
    assert.equal(loadConfig({ ...NODE, DETACH_ASG: v }).config!.detachAsg, false, v);
  }
  assert.equal(loadConfig({ ...NODE, DETACH_ASG: "" }).config!.detachAsg, false, "empty is unset");
});

Deno.test("loadConfig maps the old VERBOSE=1 to debug logging unless LOG_LEVEL is set", () => {
  assert.equal(loadConfig({ ...NODE, VERBOSE: "1" }).config!.logLevel, "debug");
  assert.equal(loadConfig({ ...NODE, VERBOSE: "0" }).config!.logLevel, "info");
  assert.equal(loadConfig({ ...NODE, VERBOSE: "1", LOG_LEVEL: "error" }).config!.logLevel, "error");
});

Deno.test("loadConfig reports every invalid value at once, one line each naming its variable", () => {
  const { config, errors } = loadConfig({
    POLL_INTERVAL: "fast",
    GRACE_PERIOD: "3601",
    METRICS_PORT: "99999",
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "169.254.169.254",
    NOTICE_URL: "ftp://x",
    AWS_ENDPOINT_URL_AUTO_SCALING: "not a url",
    LOG_FORMAT: "xml",
    LOG_LEVEL: "loud",
    REBALANCE_ACTION: "panic",
    SPOT_ACTION: "evict",
    AWS_EC2_METADATA_V1_DISABLED: "maybe",
    DRY_RUN: "perhaps",
    VERBOSE: "very",
    AWS_REGION: "mars",
  });
  assert.equal(config, undefined);
  const names = errors.map((e) => e.split(":")[0]);
  assert.deepEqual(names.sort(), [
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_ENDPOINT_URL_AUTO_SCALING",
    "AWS_REGION",
    "DRY_RUN",
    "GRACE_PERIOD",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "METRICS_PORT",
    "NODE_NAME",
    "NOTICE_URL",
    "POLL_INTERVAL",
    "REBALANCE_ACTION",
    "SPOT_ACTION",
    "VERBOSE",
  ]);
  assert.match(errors.find((e) => e.startsWith("POLL_INTERVAL"))!, /"fast"/);
  assert.match(errors.find((e) => e.startsWith("GRACE_PERIOD"))!, /between 0 and 3600/);
});

Deno.test("loadConfig rejects out-of-range and non-integer numbers", () => {
  for (
    const [name, value] of [
      ["POLL_INTERVAL", "0"],
      ["POLL_INTERVAL", "301"],
      ["POLL_INTERVAL", "1e400"],
      ["GRACE_PERIOD", "1.5"],
      ["METRICS_PORT", "80.5"],
      ["POLL_INTERVAL", " "],
    ]
  ) {
    const { errors } = loadConfig({ ...NODE, [name]: value });
    assert.equal(errors.length, 1, `${name}=${value}`);
    assert.ok(errors[0].startsWith(`${name}:`), errors[0]);
  }
});

Deno.test("loadConfig accepts POD_NAME and NAMESPACE instead of NODE_NAME", () => {
  const { config, errors } = loadConfig({ POD_NAME: "p", NAMESPACE: "kube-system" });
  assert.deepEqual(errors, []);
  assert.equal(config!.nodeName, undefined);
});

Deno.test("loadConfig warns when POD_NAME comes without NAMESPACE", () => {
  const { warnings, errors } = loadConfig({ ...NODE, POD_NAME: "p" });
  assert.deepEqual(errors, []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /POD_NAME and NAMESPACE/);
});

Deno.test("loadConfig collects notifier variables and validates them without echoing secrets", () => {
  const secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
  const ok = loadConfig({ ...NODE, SLACK_URL: secret, SLACK_CHANNEL: "#ops" });
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.config!.notifierEnv, { SLACK_URL: secret, SLACK_CHANNEL: "#ops" });
  const bad = loadConfig({ ...NODE, SLACK_URL: "not-a-url-SECRET" });
  assert.equal(bad.errors.length, 1);
  assert.ok(bad.errors[0].startsWith("SLACK_URL"), bad.errors[0]);
  assert.ok(!bad.errors[0].includes("SECRET"), "the bad value is a secret and is not echoed");
});

Deno.test("loadConfig warns that HipChat variables are ignored", () => {
  const { warnings, errors } = loadConfig({
    ...NODE,
    HIPCHAT_AUTH_TOKEN: "t",
    HIPCHAT_ROOM_ID: "1",
  });
  assert.deepEqual(errors, []);
  assert.ok(warnings.some((w) => /HipChat/i.test(w)), warnings.join("\n"));
  assert.ok(!warnings.join("\n").includes("=t"));
});

Deno.test("redactConfig hides notifier secrets and keeps the rest", () => {
  const { config } = loadConfig({
    ...NODE,
    SLACK_URL: "https://hooks.slack.com/services/SECRET",
    SLACK_CHANNEL: "#ops",
    WECHAT_URL: "https://sc.ftqq.com/send",
    WECHAT_KEY: "SECRETKEY",
  });
  const text = JSON.stringify(redactConfig(config!));
  assert.ok(!text.includes("SECRET"), text);
  assert.match(text, /"SLACK_CHANNEL":"#ops"/);
  assert.match(text, /"SLACK_URL":"<set>"/);
  assert.match(text, /"nodeName":"ip-10-0-0-1"/);
});

Deno.test("helpText lists every core and notifier variable with its default", () => {
  const text = helpText();
  for (const v of CORE_VARIABLES) {
    const line = text.split("\n").find((l) => l.trimStart().startsWith(v.name + " "));
    assert.ok(line, `missing ${v.name}`);
    assert.ok(line.includes(v.default), `${v.name} default`);
  }
  for (
    const name of ["SLACK_URL", "MATTERMOST_WEBHOOK", "SEMATEXT_URL", "WECHAT_URL", "WEBHOOK_URL"]
  ) {
    assert.match(text, new RegExp(`^  ${name} `, "m"));
  }
});

Deno.test("loadConfig takes numbers in plain decimal only (issue 11)", () => {
  for (
    const [name, value] of [
      ["POLL_INTERVAL", "0x10"],
      ["POLL_INTERVAL", "0b1"],
      ["POLL_INTERVAL", "0o7"],
      ["POLL_INTERVAL", "1e1"],
      ["POLL_INTERVAL", "1."],
      ["POLL_INTERVAL", ".5"],
      ["POLL_INTERVAL", "+1"],
      ["POLL_INTERVAL", "1 0"],
      ["POLL_INTERVAL", "Infinity"],
      ["GRACE_PERIOD", "0x1e"],
      ["GRACE_PERIOD", "-5"],
      ["GRACE_PERIOD", "30.0"],
      ["METRICS_PORT", "9092."],
      ["METRICS_PORT", "0x2384"],
      ["METRICS_PORT", "9 092"],
    ]
  ) {
    const { errors, config } = loadConfig({ ...NODE, [name]: value });
    assert.equal(config, undefined, `${name}=${value} is refused`);
    assert.equal(errors.length, 1, `${name}=${value}`);
    assert.match(errors[0], new RegExp(`^${name}: expected a (whole|decimal) number`), errors[0]);
  }
  // Surrounding spaces are trimmed, as YAML values often carry them.
  assert.equal(loadConfig({ ...NODE, POLL_INTERVAL: " 2.5 " }).config!.pollIntervalMs, 2500);
  assert.equal(loadConfig({ ...NODE, METRICS_PORT: "9093" }).config!.metricsPort, 9093);
});

Deno.test("loadConfig trims and validates names; a newline never gets through", () => {
  assert.equal(
    loadConfig({ NODE_NAME: "  ip-10-0-0-1.ec2.internal " }).config!.nodeName,
    "ip-10-0-0-1.ec2.internal",
  );
  const long = `${"a".repeat(63)}.`.repeat(4) + "a";
  for (
    const [name, value] of [
      ["NODE_NAME", "   "],
      ["NODE_NAME", "node-1\n2026-11-25T10:00:00.000Z INFO  notice handled"],
      ["NODE_NAME", "Ip-10-0-0-1"],
      ["NODE_NAME", "node_1"],
      ["NODE_NAME", "-node"],
      ["NODE_NAME", "node..a"],
      ["NODE_NAME", long],
      ["NODE_NAME", `${"a".repeat(64)}.b`],
    ]
  ) {
    const { errors } = loadConfig({ [name]: value });
    assert.equal(errors.length, 1, `${JSON.stringify(value)}: ${errors.join(" | ")}`);
    assert.match(errors[0], /^NODE_NAME: expected a DNS subdomain/);
    assert.ok(!errors[0].includes("\n"), "the error is one line");
  }
  const pod = loadConfig({ POD_NAME: "sth\nx", NAMESPACE: "Kube_System" });
  assert.deepEqual(pod.errors.map((e) => e.split(":")[0]).sort(), ["NAMESPACE", "POD_NAME"]);
  assert.ok(pod.errors.every((e) => !e.includes("\n")));
  const cluster = loadConfig({ ...NODE, CLUSTER: "prod\nINFO fake" });
  assert.deepEqual(cluster.errors.map((e) => e.split(":")[0]), ["CLUSTER"]);
  assert.equal(loadConfig({ ...NODE, CLUSTER: " prod eu " }).config!.cluster, "prod eu");
});

Deno.test("loadConfig requires KUBECONFIG to be a readable file when a check is given", () => {
  const seen: string[] = [];
  const readable = (path: string) => {
    seen.push(path);
    return path === "/ok" ? undefined : "no such file";
  };
  assert.deepEqual(loadConfig({ ...NODE, KUBECONFIG: "/ok" }, { readable }).errors, []);
  const { errors } = loadConfig({ ...NODE, KUBECONFIG: "/nonexistent" }, { readable });
  assert.deepEqual(errors, ['KUBECONFIG: "/nonexistent" cannot be read: no such file']);
  assert.deepEqual(seen, ["/ok", "/nonexistent"]);
  assert.match(loadConfig({ ...NODE, KUBECONFIG: "  " }, { readable }).errors[0], /blank/);
});

Deno.test("fileReadable tells a missing file, a directory and a readable file apart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/kc`, "apiVersion: v1\n");
    assert.equal(fileReadable(`${dir}/kc`), undefined);
    assert.equal(fileReadable(`${dir}/none`), "no such file");
    assert.equal(fileReadable(dir), "not a regular file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig refuses query strings and fragments where paths are appended", () => {
  for (
    const [name, value, why] of [
      ["AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/?x=1", /\?query/],
      ["AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338#frag", /#fragment/],
      ["AWS_ENDPOINT_URL_AUTO_SCALING", "https://autoscaling.example.com/?a", /\?query/],
      ["NOTICE_URL", "http://127.0.0.1/latest/meta-data/spot/termination-time#x", /#fragment/],
      ["AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338/a b", /spaces/],
    ] as const
  ) {
    const { errors } = loadConfig({ ...NODE, [name]: value });
    assert.equal(errors.length, 1, `${name}=${value}`);
    assert.match(errors[0], new RegExp(`^${name}: `));
    assert.match(errors[0], why);
  }
  // The legacy NOTICE_URL is polled as given, so its query string is kept.
  const full = "http://127.0.0.1/termination-time?probe=1";
  assert.equal(loadConfig({ ...NODE, NOTICE_URL: full }).config!.noticeUrl, full);
});

Deno.test("URL errors and the printed configuration never show URL user-info", () => {
  const { errors } = loadConfig({
    ...NODE,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "ftp://admin:hunter2@127.0.0.1",
    NOTICE_URL: "http://u:pw-secret@127.0.0.1/x#y",
  });
  assert.equal(errors.length, 2);
  assert.ok(!errors.join("\n").includes("hunter2") && !errors.join("\n").includes("pw-secret"));
  const { config } = loadConfig({
    ...NODE,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://admin:hunter2@127.0.0.1:1338",
    NOTICE_URL: "http://u:pw-secret@127.0.0.1/x",
    AWS_ENDPOINT_URL_AUTO_SCALING: "http://k:asg-secret@127.0.0.1:5000",
  });
  const text = JSON.stringify(redactConfig(config!));
  for (const s of ["hunter2", "pw-secret", "asg-secret"]) assert.ok(!text.includes(s), text);
  assert.match(text, /"imdsEndpoint":"http:\/\/\*\*\*@127\.0\.0\.1:1338"/);
});

Deno.test("DETACH_ASG keeps the old rule but warns for values that read as off", () => {
  for (const v of ["0", "no", "off", "OFF", "disabled", " ", "none", "n"]) {
    const { config, warnings, errors } = loadConfig({ ...NODE, DETACH_ASG: v });
    assert.deepEqual(errors, []);
    assert.equal(config!.detachAsg, true, `${JSON.stringify(v)} is on, as in the old script`);
    assert.equal(warnings.length, 1, JSON.stringify(v));
    assert.match(warnings[0], /^DETACH_ASG=.* turns ASG detach ON/);
    assert.match(warnings[0], /any value but "false"/);
    assert.match(warnings[0], /DETACH_ASG=false/);
  }
  for (const v of ["true", "1", "my-asg"]) {
    assert.deepEqual(loadConfig({ ...NODE, DETACH_ASG: v }).warnings, [], v);
  }
  for (const v of ["false", "False ", " FALSE"]) {
    const { config, warnings } = loadConfig({ ...NODE, DETACH_ASG: v });
    assert.equal(config!.detachAsg, false, v);
    assert.deepEqual(warnings, []);
  }
});

Deno.test("METRICS_ADDRESS takes an IP literal, default loopback", () => {
  assert.equal(loadConfig(NODE).config!.metricsAddress, "127.0.0.1");
  for (const ok of ["0.0.0.0", "10.0.1.23", "::1", "::", "fd00::1"]) {
    assert.equal(loadConfig({ ...NODE, METRICS_ADDRESS: ok }).config!.metricsAddress, ok);
  }
  for (const bad of ["localhost", "10.0.0.256", "1.2.3", "::g", "10.0.0.1:9092", "a\nb"]) {
    const { errors } = loadConfig({ ...NODE, METRICS_ADDRESS: bad });
    assert.equal(errors.length, 1, bad);
    assert.match(errors[0], /^METRICS_ADDRESS: expected an IP address/);
    assert.ok(!errors[0].includes("\n"));
  }
});

Deno.test("every problem is reported at once", () => {
  const { errors } = loadConfig({
    NODE_NAME: "bad name",
    POLL_INTERVAL: "0x10",
    METRICS_PORT: "9092.",
    METRICS_ADDRESS: "anywhere",
    AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1/?q",
    KUBECONFIG: "/nonexistent",
  }, { readable: () => "no such file" });
  assert.deepEqual(errors.map((e) => e.split(":")[0]).sort(), [
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "KUBECONFIG",
    "METRICS_ADDRESS",
    "METRICS_PORT",
    "NODE_NAME",
    "POLL_INTERVAL",
  ]);
});

Deno.test("every config error is one line, whatever a message quotes", () => {
  // The template loader quotes the path and the read error as they are.
  const { errors } = loadConfig({
    ...NODE,
    WEBHOOK_URL: "http://127.0.0.1/x",
    WEBHOOK_TEMPLATE_FILE: "/t\nINFO forged",
  }, {
    readFile: () => {
      throw new Error("no such file\nINFO forged too");
    },
  });
  assert.equal(errors.length, 1);
  assert.ok(!/[\r\n]/.test(errors[0]), JSON.stringify(errors[0]));
  assert.match(errors[0], /\/t\\nINFO forged/, "escaped, not dropped");
});

Deno.test("problems are listed in the order loadConfig reads the groups of variables", () => {
  const { errors, warnings } = loadConfig({
    AWS_REGION: "mars",
    VERBOSE: "very",
    DRY_RUN: "perhaps",
    MAINTENANCE_LEAD: "soon",
    LOG_FORMAT: "xml",
    NOTICE_URL: "ftp://x",
    METRICS_ADDRESS: "anywhere",
    POLL_INTERVAL: "fast",
    POD_NAME: "Bad_Name",
    CLUSTER: " ",
    DETACH_ASG: "no",
    EMAIL_TO: "ops@example.com",
  });
  // Timing, listener, endpoints, logging, actions, switches, names, cluster, node lookup, region,
  // notifiers: the same order whatever order the environment lists them in.
  assert.deepEqual(errors.map((e) => e.split(":")[0]), [
    "POLL_INTERVAL",
    "METRICS_ADDRESS",
    "NOTICE_URL",
    "LOG_FORMAT",
    "VERBOSE",
    "MAINTENANCE_LEAD",
    "DRY_RUN",
    "POD_NAME",
    "CLUSTER",
    "NODE_NAME",
    "AWS_REGION",
    "SMTP_URL",
  ]);
  assert.match(warnings[0], /^DETACH_ASG="no" turns ASG detach ON/);
  assert.match(warnings[1], /^POD_NAME and NAMESPACE go together/);
});

Deno.test("the configuration lists its settings in one fixed order (the log line's)", () => {
  const { config, errors } = loadConfig({ NODE_NAME: "ip-10-0-0-1" });
  assert.deepEqual(errors, []);
  assert.deepEqual(Object.keys(config!), [
    "nodeName",
    "podName",
    "namespace",
    "cluster",
    "pollIntervalMs",
    "gracePeriodSeconds",
    "detachAsg",
    "excludeFromLoadBalancers",
    "maintenanceLeadMs",
    "actions",
    "imdsEndpoint",
    "imdsV1Disabled",
    "noticeUrl",
    "identityUrls",
    "awsRegion",
    "asgEndpoint",
    "kubeconfigPath",
    "dryRun",
    "logFormat",
    "logLevel",
    "metricsPort",
    "metricsAddress",
    "notifierEnv",
  ]);
});
