import assert from "node:assert/strict";
import { parse } from "../dev_deps.ts";
import { CORE_VARIABLES } from "../lib/config_variables.ts";
import { NOTIFIER_VARIABLES } from "../lib/notify_targets.ts";
import {
  CHART_DIR,
  chartVariables,
  FIXED_VARIABLES,
  generatedFiles,
  valueRows,
} from "../tools/chart.ts";
import { helm, helmTemplate, type KubeObject, locateHelm, yamlObjects } from "../tools/helm.ts";
import { imageReference, VERSION } from "../tools/release.ts";

const ROOT = new URL("..", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, ROOT));

async function denoFmt(text: string, ext: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", `--ext=${ext}`, "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("the chart's generated files and daemonset.yaml's image are current (deno task chart)", async () => {
  for (const [path, text] of generatedFiles(read)) {
    const expected = path.endsWith(".md")
      ? await denoFmt(text, "md")
      : path.endsWith(".json")
      ? await denoFmt(text, "json")
      : text;
    assert.equal(read(path), expected, `${path} is stale: run deno task chart`);
  }
});

Deno.test("the chart's version and appVersion are deno.json's version", () => {
  const chart = parse(read(`${CHART_DIR}/Chart.yaml`));
  assert.equal(chart.version, VERSION);
  assert.equal(chart.appVersion, VERSION);
});

Deno.test("the chart's env offers every variable of --help except those it sets itself", () => {
  const values = parse(read(`${CHART_DIR}/values.yaml`)) as { env: Record<string, string> };
  const all = [...CORE_VARIABLES, ...NOTIFIER_VARIABLES].map((v) => v.name);
  assert.deepEqual(
    Object.keys(values.env),
    all.filter((name) => !FIXED_VARIABLES.has(name)),
  );
  for (const name of FIXED_VARIABLES) assert.ok(all.includes(name), `${name} is a real variable`);
});

Deno.test("the chart README lists every value of values.yaml with its comment", () => {
  const readme = read(`${CHART_DIR}/README.md`);
  const rows = valueRows(read(`${CHART_DIR}/values.yaml`));
  for (const row of rows) {
    assert.ok(row.description, `${row.key} has no "# --" comment in values.yaml`);
    assert.ok(readme.includes(`\`${row.key}\``), `README lacks ${row.key}`);
  }
  for (const v of chartVariables()) {
    assert.ok(rows.some((r) => r.key === `env.${v.name}`), `env.${v.name} listed`);
  }
});

Deno.test("valueRows takes each key's own comment and lists sections key by key", () => {
  const rows = valueRows(
    [
      "# File header, not a value's comment.",
      "",
      "# -- The image.",
      "image:",
      "  # -- Repository.",
      "  repository: example/x",
      "# -- Spot nodes only.",
      "affinity:",
      "  nodeAffinity: {}",
      "# -- Extra labels.",
      "podLabels: {}",
    ].join("\n"),
  );
  assert.deepEqual(rows, [
    { key: "image", default: "", description: "The image." },
    { key: "image.repository", default: '`"example/x"`', description: "Repository." },
    { key: "affinity", default: '`{"nodeAffinity":{}}`', description: "Spot nodes only." },
    { key: "podLabels", default: "`{}`", description: "Extra labels." },
  ]);
});

// ---------------------------------------------------------------------------------------------
// With helm (built by `bash tools/peers/setup.sh helm`).

const HELM = locateHelm();
const SKIP = HELM
  ? undefined
  : "helm not built (bash tools/peers/setup.sh helm); helm lint and helm template not checked";
if (SKIP) console.log(`tests/chart_test.ts: ${SKIP}`);

/** Labels Helm's convention adds to object metadata; daemonset.yaml cannot carry them. */
const HELM_LABELS = [
  "helm.sh/chart",
  "app.kubernetes.io/instance",
  "app.kubernetes.io/version",
  "app.kubernetes.io/managed-by",
];

function withoutHelmLabels(o: KubeObject): KubeObject {
  const labels = { ...o.metadata.labels };
  for (const l of HELM_LABELS) delete labels[l];
  return { ...o, metadata: { ...o.metadata, labels } };
}

const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

async function render(options: Parameters<typeof helmTemplate>[1] = {}): Promise<KubeObject[]> {
  const out = await helmTemplate(HELM!, options);
  assert.ok(out.ok, `helm template failed:\n${out.stderr}`);
  return yamlObjects(out.stdout);
}

async function renderedDaemonSet(options: Parameters<typeof helmTemplate>[1] = {}) {
  const ds = (await render(options)).find((o) => o.kind === "DaemonSet");
  assert.ok(ds, "a DaemonSet is rendered");
  // deno-lint-ignore no-explicit-any
  return ds as any;
}

Deno.test({
  name: "helm lint passes with default values and with every optional object on",
  ignore: SKIP !== undefined,
  async fn() {
    for (
      const extra of [[], [
        "--set",
        "podMonitor.enabled=true,serviceMonitor.enabled=true,commonLabels.team=ops",
      ]]
    ) {
      const out = await helm(HELM!, ["lint", "--strict", CHART_DIR, ...extra]);
      assert.ok(out.ok, `helm lint ${extra.join(" ")}:\n${out.stdout}${out.stderr}`);
      assert.match(out.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  },
});

Deno.test({
  name: "helm template with default values renders the same objects as daemonset.yaml",
  ignore: SKIP !== undefined,
  async fn() {
    const chart = await render();
    const manifest = yamlObjects(read("daemonset.yaml"));
    for (const o of chart) {
      for (const l of HELM_LABELS) assert.ok(o.metadata.labels?.[l], `${key(o)} has ${l}`);
    }
    assert.deepEqual(chart.map(key).sort(), manifest.map(key).sort());
    const byKey = new Map(manifest.map((o) => [key(o), o]));
    for (const o of chart) assert.deepEqual(withoutHelmLabels(o), byKey.get(key(o)), key(o));
    const ds = chart.find((o) => o.kind === "DaemonSet") as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    assert.equal(ds.spec.template.spec.containers[0].image, imageReference());
  },
});

Deno.test({
  name: "helm template turns env, secretEnv, IRSA, network and label values into the objects",
  ignore: SKIP !== undefined,
  async fn() {
    const objects = await render({
      release: "sth",
      namespace: "monitoring",
      set: [
        "env.POLL_INTERVAL=5",
        "env.DETACH_ASG=true",
        "env.METRICS_PORT=9300",
        "secretEnv.keys={SLACK_URL,WEBHOOK_URL}",
        "hostNetwork=false",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/sth",
        "commonLabels.team=ops",
        "podLabels.tier=system",
        "priorityClassName=",
        "image.tag=9.9.9",
        "env.WEBHOOK_TEMPLATE_FILE=/etc/spot-termination-handler/webhook.json",
      ],
      setJson: [
        'extraVolumes=[{"name":"templates","configMap":{"name":"sth-templates"}}]',
        'extraVolumeMounts=[{"name":"templates","mountPath":"/etc/spot-termination-handler","readOnly":true}]',
      ],
    });
    const ds = objects.find((o) => o.kind === "DaemonSet") as unknown as {
      metadata: { name: string; namespace: string; labels: Record<string, string> };
      spec: {
        template: {
          metadata: { labels: Record<string, string>; annotations: Record<string, string> };
          spec: Record<string, unknown> & {
            containers: {
              image: string;
              env: {
                name: string;
                value?: string;
                valueFrom?: { secretKeyRef?: { name: string; key: string } };
              }[];
              ports: { containerPort: number }[];
            }[];
          };
        };
      };
    };
    assert.equal(ds.metadata.name, "sth-spot-termination-handler");
    assert.equal(ds.metadata.namespace, "monitoring");
    assert.equal(ds.metadata.labels.team, "ops");
    const pod = ds.spec.template;
    assert.equal(pod.metadata.labels.tier, "system");
    assert.equal(pod.metadata.annotations["prometheus.io/port"], "9300");
    assert.equal(pod.spec.hostNetwork, false);
    assert.equal(pod.spec.dnsPolicy, "ClusterFirst");
    assert.equal(pod.spec.priorityClassName, undefined);
    const c = pod.spec.containers[0];
    assert.equal(c.image, "ghcr.io/spot-termination-handler/spot-termination-handler:9.9.9");
    assert.equal(c.ports[0].containerPort, 9300);
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env.POLL_INTERVAL, "5");
    assert.equal(env.DETACH_ASG, "true");
    assert.equal(env.METRICS_PORT, "9300");
    assert.deepEqual(env.SLACK_URL, {
      secretKeyRef: { name: "spot-termination-handler", key: "SLACK_URL" },
    });
    assert.equal("CLUSTER" in env, false, "empty values stay unset");
    assert.equal(env.WEBHOOK_TEMPLATE_FILE, "/etc/spot-termination-handler/webhook.json");
    const podSpec = pod.spec as unknown as {
      volumes: { name: string }[];
      containers: { volumeMounts: { mountPath: string }[] }[];
    };
    assert.deepEqual(podSpec.volumes, [{
      name: "templates",
      configMap: { name: "sth-templates" },
    }]);
    assert.equal(podSpec.containers[0].volumeMounts[0].mountPath, "/etc/spot-termination-handler");
    const sa = objects.find((o) => o.kind === "ServiceAccount") as unknown as {
      metadata: { annotations: Record<string, string> };
    };
    assert.equal(
      sa.metadata.annotations["eks.amazonaws.com/role-arn"],
      "arn:aws:iam::111122223333:role/sth",
    );
    const binding = objects.find((o) => o.kind === "ClusterRoleBinding") as unknown as {
      subjects: { name: string; namespace: string }[];
    };
    assert.deepEqual(binding.subjects[0], {
      kind: "ServiceAccount",
      name: "sth-spot-termination-handler",
      namespace: "monitoring",
    });
  },
});

Deno.test({
  name: "helm template renders a PodMonitor and a ServiceMonitor that select the handler's pods",
  ignore: SKIP !== undefined,
  async fn() {
    const objects = await render({
      set: [
        "podMonitor.enabled=true",
        "podMonitor.interval=15s",
        "serviceMonitor.enabled=true",
        "serviceMonitor.labels.release=prometheus",
      ],
    });
    const ds = await renderedDaemonSet();
    const podLabels = ds.spec.template.metadata.labels as Record<string, string>;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    // deno-lint-ignore no-explicit-any
    const find = (kind: string) => objects.find((o) => o.kind === kind) as any;
    const pm = find("PodMonitor");
    assert.ok(matches(pm.spec.selector.matchLabels));
    assert.deepEqual(pm.spec.podMetricsEndpoints, [{
      port: "http",
      path: "/metrics",
      interval: "15s",
    }]);
    const svc = find("Service");
    assert.ok(matches(svc.spec.selector));
    assert.equal(svc.spec.ports[0].name, "http");
    const sm = find("ServiceMonitor");
    assert.equal(sm.metadata.labels.release, "prometheus");
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) {
      assert.equal(svc.metadata.labels[k], v, "the ServiceMonitor selects the Service");
    }
    assert.equal(sm.spec.endpoints[0].port, "http");
  },
});

Deno.test({
  name: "helm template refuses a misspelt variable, a secret set twice and a metrics port of 0",
  ignore: SKIP !== undefined,
  async fn() {
    const cases: [string[], RegExp][] = [
      [["env.POLL_INTERVALL=5"], /POLL_INTERVALL/],
      [
        ["env.SLACK_URL=https://hooks.example/x", "secretEnv.keys={SLACK_URL}"],
        /SLACK_URL is set both/,
      ],
      [["env.METRICS_PORT=0"], /METRICS_PORT=0/],
      [["secretEnv.keys={NOT_A_VARIABLE}"], /secretEnv/],
    ];
    for (const [set, message] of cases) {
      const out = await helmTemplate(HELM!, { set });
      assert.equal(out.ok, false, `helm template --set ${set.join(" ")} should fail`);
      assert.match(out.stderr, message);
    }
  },
});
