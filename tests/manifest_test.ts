/**
 * daemonset.yaml: the objects, their wiring, the pod's security settings, the variables it
 * names (set or commented out) and its fields against the Kubernetes API's own types.
 *
 * No kubectl mode validates offline: `apply`/`create --dry-run=client` need the API server's
 * discovery (and its OpenAPI documents to validate). Field checks therefore use the models of
 * `@kubernetes/client-node`, generated from the Kubernetes OpenAPI spec: every field must exist
 * and hold the right type. kubectl, when present, must read the same objects
 * (`kubectl label --local`, which needs no server).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "../dev_deps.ts";
import { CORE_VARIABLES } from "../lib/config_variables.ts";
import { NOTIFIER_VARIABLES } from "../lib/notify_targets.ts";

const MANIFEST_PATH = fileURLToPath(new URL("../daemonset.yaml", import.meta.url));
const TEXT = Deno.readTextFileSync(MANIFEST_PATH);

type Obj = Record<string, unknown>;

// deno-lint-ignore no-explicit-any
type Any = any;

/** Parse every document; a YAML error or warning fails the test. Empty documents are dropped. */
function parseManifest(text: string): Obj[] {
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs), "the manifest is a YAML stream");
  for (const doc of docs) {
    assert.deepEqual(doc.errors.map(String), []);
    assert.deepEqual(doc.warnings.map(String), []);
  }
  return docs.map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
}

/**
 * The manifest with every optional line switched on. Commented-out YAML has `#` where its
 * indentation starts, so `#` is followed by text or by two or more spaces; explanations are
 * `# text` (one space) or a lone `#`, and stay comments.
 */
function uncomment(text: string): string {
  return text.replace(/^(\s*)#(?=[^\s#]| {2})/gm, "$1");
}

function byKind(objects: Obj[], kind: string): Any {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0];
}

const OBJECTS = parseManifest(TEXT);
const ALL_ON = parseManifest(uncomment(TEXT));
const DS = byKind(OBJECTS, "DaemonSet");
const POD = DS.spec.template.spec;
const CONTAINER = POD.containers[0];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Any;
}

function env(objects: Obj[]): EnvVar[] {
  return byKind(objects, "DaemonSet").spec.template.spec.containers[0].env;
}

// ---------------------------------------------------------------------------------------------
// Field and type check against @kubernetes/client-node's generated models.

interface Attribute {
  baseName: string;
  type: string;
  format: string;
}

type Models = Record<string, { getAttributeTypeMap?: () => Attribute[] }>;

let models: Models | undefined;
async function loadModels(): Promise<Models> {
  models ??= await import("@kubernetes/client-node") as unknown as Models;
  return models;
}

/** `apps/v1` + `DaemonSet` → `V1DaemonSet`. */
function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split("/").at(-1)!;
  return `${version[0].toUpperCase()}${version.slice(1)}${kind}`;
}

/** Problems with `value` as a `type`, each naming the path of the field. */
function checkType(
  m: Models,
  value: unknown,
  type: string,
  format: string,
  path: string,
): string[] {
  const problem = (
    expected: string,
  ) => [`${path}: expected ${expected}, got ${JSON.stringify(value)}`];
  if (value === null) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return problem("a list");
    return value.flatMap((v, i) => checkType(m, v, array[1], format, `${path}[${i}]`));
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== "object" || Array.isArray(value)) return problem("a map");
    return Object.entries(value as Obj).flatMap(([k, v]) =>
      checkType(m, v, map[1], format, `${path}.${k}`)
    );
  }
  switch (type) {
    case "string":
      return typeof value === "string" ? [] : problem("a string");
    case "boolean":
      return typeof value === "boolean" ? [] : problem("true or false");
    case "number":
      if (typeof value !== "number") return problem("a number");
      return format.startsWith("int") && !Number.isInteger(value) ? problem("an integer") : [];
    case "IntOrString":
      return typeof value === "string" || Number.isInteger(value)
        ? []
        : problem("an integer or a string");
    case "Date":
      return typeof value === "string" && !Number.isNaN(Date.parse(value)) ? [] : problem("a time");
    case "any":
      return [];
  }
  const model = m[type]?.getAttributeTypeMap;
  assert.ok(model, `${path}: no model ${type} in @kubernetes/client-node`);
  if (typeof value !== "object" || Array.isArray(value)) return problem(`an object (${type})`);
  const attributes = model.call(m[type]);
  return Object.entries(value as Obj).flatMap(([key, v]) => {
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) return [`${path}.${key}: no such field in ${type}`];
    return checkType(m, v, attribute.type, attribute.format, `${path}.${key}`);
  });
}

/** Problems with one manifest object, checked against the model of its apiVersion and kind. */
async function checkObject(object: Obj): Promise<string[]> {
  const m = await loadModels();
  const type = modelName(String(object.apiVersion), String(object.kind));
  if (!m[type]?.getAttributeTypeMap) return [`${object.kind}: unknown kind ${type}`];
  return checkType(m, object, type, "", String(object.kind));
}

// ---------------------------------------------------------------------------------------------

Deno.test("uncomment switches on commented-out YAML and leaves explanations alone", () => {
  assert.equal(
    uncomment("a:\n  # explained\n  #b:\n  #  c: 2\n#\n#---\n  ## x\n"),
    "a:\n  # explained\n  b:\n    c: 2\n#\n---\n  ## x\n",
  );
});

Deno.test("the model check reports unknown fields and wrongly typed values", async () => {
  const broken = structuredClone(DS);
  broken.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
  broken.spec.template.spec.terminationGracePeriodSeconds = "150";
  broken.spec.template.spec.tolerations = { operator: "Exists" };
  broken.spec.template.spec.containers[0].resources.limits.memory = 320;
  assert.deepEqual((await checkObject(broken)).sort(), [
    "DaemonSet.spec.template.spec.containers[0].resources.limits.memory: expected a string, got 320",
    "DaemonSet.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: no such field in V1SecurityContext",
    'DaemonSet.spec.template.spec.terminationGracePeriodSeconds: expected a number, got "150"',
    'DaemonSet.spec.template.spec.tolerations: expected a list, got {"operator":"Exists"}',
  ]);
  assert.deepEqual(await checkObject({ apiVersion: "apps/v1", kind: "DaemonSett" }), [
    "DaemonSett: unknown kind V1DaemonSett",
  ]);
});

Deno.test("every field in the manifest, with all options on, is one the Kubernetes API defines", async () => {
  for (const object of ALL_ON) assert.deepEqual(await checkObject(object), []);
});

Deno.test("the manifest holds a ServiceAccount, ClusterRole, ClusterRoleBinding and DaemonSet, wired together", () => {
  assert.deepEqual(OBJECTS.map((o) => `${o.apiVersion} ${o.kind}`), [
    "v1 ServiceAccount",
    "rbac.authorization.k8s.io/v1 ClusterRole",
    "rbac.authorization.k8s.io/v1 ClusterRoleBinding",
    "apps/v1 DaemonSet",
  ]);
  const sa = byKind(OBJECTS, "ServiceAccount");
  const role = byKind(OBJECTS, "ClusterRole");
  const binding = byKind(OBJECTS, "ClusterRoleBinding");
  assert.equal(sa.metadata.namespace, "kube-system");
  assert.equal(DS.metadata.namespace, "kube-system");
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: role.metadata.name,
  });
  assert.deepEqual(binding.subjects, [
    { kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace },
  ]);
  assert.equal(POD.serviceAccountName, sa.metadata.name);
  assert.equal(POD.automountServiceAccountToken, true);
  for (const [k, v] of Object.entries(DS.spec.selector.matchLabels)) {
    assert.equal(DS.spec.template.metadata.labels[k], v, `template label ${k} matches selector`);
  }
});

Deno.test("the ClusterRole grants only the verbs the handler uses, without wildcards", () => {
  const role = byKind(OBJECTS, "ClusterRole");
  const granted: string[] = [];
  for (const rule of role.rules) {
    assert.deepEqual(
      Object.keys(rule).sort(),
      ["apiGroups", "resources", "verbs"],
      "no resourceNames or nonResourceURLs",
    );
    for (const g of rule.apiGroups) {
      for (const r of rule.resources) for (const v of rule.verbs) granted.push(`${g}|${r}|${v}`);
    }
  }
  assert.ok(!granted.some((t) => t.includes("*")), "no wildcard");
  // tests/e2e_rbac_test.ts shows the running handler makes exactly these calls.
  assert.deepEqual(granted.sort(), [
    "|events|create",
    "|nodes|get",
    "|nodes|patch",
    "|pods/eviction|create",
    "|pods|get",
    "|pods|list",
  ]);
});

Deno.test("the container runs as non-root on a read-only root, with no privileges or capabilities", () => {
  const pod = POD.securityContext;
  const c = CONTAINER.securityContext;
  const effective = (key: string) => c[key] ?? pod[key];
  assert.equal(effective("runAsNonRoot"), true);
  assert.equal(effective("runAsUser"), 65532, "the image's nonroot uid");
  assert.equal(effective("runAsGroup"), 65532);
  assert.equal(c.readOnlyRootFilesystem, true);
  assert.equal(c.allowPrivilegeEscalation, false);
  assert.notEqual(c.privileged, true);
  assert.deepEqual(c.capabilities, { drop: ["ALL"] });
  assert.deepEqual(effective("seccompProfile"), { type: "RuntimeDefault" });
  assert.equal(POD.hostPID, undefined);
  assert.equal(POD.hostIPC, undefined);
  assert.equal(POD.volumes, undefined, "no host paths, nothing to write to");
  assert.equal(CONTAINER.volumeMounts, undefined);
});

Deno.test("the pod learns its node, name and namespace from the downward API", () => {
  const fields = Object.fromEntries(
    env(OBJECTS).filter((e) => e.valueFrom?.fieldRef).map((e) => [
      e.name,
      e.valueFrom.fieldRef.fieldPath,
    ]),
  );
  assert.deepEqual(fields, {
    NODE_NAME: "spec.nodeName",
    POD_NAME: "metadata.name",
    NAMESPACE: "metadata.namespace",
    // The probes connect to the pod IP (the node's with hostNetwork); the listener binds it.
    METRICS_ADDRESS: "status.podIP",
  });
});

Deno.test("the pod is node-critical, tolerates every taint and runs on spot nodes of each provisioner", () => {
  assert.equal(POD.priorityClassName, "system-node-critical");
  assert.deepEqual(POD.tolerations, [{ operator: "Exists" }]);
  assert.deepEqual(POD.nodeSelector, { "kubernetes.io/os": "linux" });
  const terms = POD.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
    .nodeSelectorTerms;
  assert.deepEqual(
    terms.map((t: Any) => t.matchExpressions),
    [
      [{ key: "eks.amazonaws.com/capacityType", operator: "In", values: ["SPOT"] }],
      [{ key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] }],
      [{ key: "node.kubernetes.io/lifecycle", operator: "In", values: ["spot"] }],
      [{ key: "lifecycle", operator: "In", values: ["Ec2Spot"] }],
    ],
  );
});

Deno.test("IMDS is reachable whatever the hop limit, and the choice is explained", () => {
  // With IMDSv2 required and hop limit 1 a pod-network handler never gets a token.
  assert.equal(POD.hostNetwork, true);
  assert.equal(POD.dnsPolicy, "ClusterFirstWithHostNet", "cluster DNS despite hostNetwork");
  assert.match(TEXT, /hop limit/);
  assert.match(TEXT, /hostNetwork: false/, "says how to leave the host network");
  assert.equal(DS.spec.updateStrategy.rollingUpdate.maxSurge ?? 0, 0, "no two pods per node port");
});

Deno.test("the probes check /healthz and /readyz on the metrics port", () => {
  const port = CORE_VARIABLES.find((v) => v.name === "METRICS_PORT")!.default;
  assert.equal(env(OBJECTS).find((e) => e.name === "METRICS_PORT")?.value, port);
  assert.deepEqual(CONTAINER.ports, [{
    name: "http",
    containerPort: Number(port),
    protocol: "TCP",
  }]);
  const live = CONTAINER.livenessProbe;
  const ready = CONTAINER.readinessProbe;
  assert.deepEqual(live.httpGet, { path: "/healthz", port: "http" });
  assert.deepEqual(ready.httpGet, { path: "/readyz", port: "http" });
  // The loop reports stalled after 60 s; a restart needs a few failed probes more than that.
  assert.ok(live.periodSeconds * live.failureThreshold >= 30, "liveness tolerates 30 s");
  assert.ok(ready.periodSeconds <= 10, "readiness notices a lost IMDS within seconds");
  for (const probe of [live, ready]) assert.ok(probe.timeoutSeconds < probe.periodSeconds);
});

/** A memory quantity in MiB; only the binary suffixes the manifest uses. */
function mebibytes(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(match, `memory quantity ${quantity} is whole Mi or Gi`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}

Deno.test("mebibytes reads Mi and Gi and rejects other forms", () => {
  assert.equal(mebibytes("64Mi"), 64);
  assert.equal(mebibytes("1Gi"), 1024);
  assert.throws(() => mebibytes("64M"));
  assert.throws(() => mebibytes("lots"));
});

Deno.test("memory is requested for the idle handler and limited with room for a drain", () => {
  const { requests, limits } = CONTAINER.resources;
  // Measured: ~50 MiB idle; 173 MiB peak in a 250-pod drain with the Kubernetes client and
  // AWS SDK loaded, plus 20-40 MiB per list of real-sized pods.
  assert.ok(
    mebibytes(requests.memory) >= 65,
    "request covers the idle handler at its measured peak",
  );
  assert.ok(mebibytes(limits.memory) >= 256, "limit covers the clients and a large drain");
  assert.equal(limits.cpu, undefined, "no CPU throttling inside the two-minute window");
  assert.match(requests.cpu, /^\d+m$/);
});

Deno.test("a pod stopped during a notice has longer than the notice to finish", () => {
  assert.ok(POD.terminationGracePeriodSeconds > 120);
  assert.ok(POD.terminationGracePeriodSeconds <= 180);
});

Deno.test("updates replace the handler on 10% of the nodes at a time", () => {
  assert.deepEqual(DS.spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: "10%" },
  });
});

const KNOWN = new Set([
  ...CORE_VARIABLES.map((v) => v.name),
  ...NOTIFIER_VARIABLES.map((v) => v.name),
]);

Deno.test("every variable the manifest sets or offers is one the handler or the AWS SDK knows", () => {
  const names = env(ALL_ON).map((e) => e.name);
  assert.deepEqual(names.filter((n) => !KNOWN.has(n) && !/^AWS_[A-Z0-9_]+$/.test(n)), []);
  assert.equal(new Set(names).size, names.length, "no variable twice");
});

Deno.test("the manifest offers every core variable but KUBECONFIG, and names every notifier variable", () => {
  const offered = new Set(env(ALL_ON).map((e) => e.name));
  const missing = CORE_VARIABLES.map((v) => v.name).filter((n) =>
    n !== "KUBECONFIG" && !offered.has(n)
  );
  assert.deepEqual(missing, []);
  // HipChat's retired variables are only mentioned, not offered.
  const unnamed = NOTIFIER_VARIABLES.map((v) => v.name).filter((n) =>
    !new RegExp(`\\b${n}\\b`).test(TEXT)
  );
  assert.deepEqual(unnamed, []);
  for (const v of NOTIFIER_VARIABLES.filter((v) => v.target !== "hipchat")) {
    assert.ok(offered.has(v.name), `${v.name} has a commented-out entry`);
  }
});

Deno.test("notifier secrets come from the Secret by secretKeyRef, and the example Secret has each key", () => {
  const secret = ALL_ON.find((o) => o.kind === "Secret") as Any;
  assert.ok(secret, "an example Secret is commented out at the end");
  assert.equal(OBJECTS.find((o) => o.kind === "Secret"), undefined, "not applied by default");
  assert.equal(secret.metadata.namespace, "kube-system");
  const secretNames = new Set(NOTIFIER_VARIABLES.filter((v) => v.secret).map((v) => v.name));
  const referenced: string[] = [];
  for (const e of env(ALL_ON)) {
    if (!secretNames.has(e.name)) continue;
    assert.equal(e.value, undefined, `${e.name} is never written into the manifest`);
    const ref = e.valueFrom?.secretKeyRef;
    assert.ok(ref, `${e.name} comes from a Secret`);
    assert.equal(ref.name, secret.metadata.name);
    assert.equal(ref.key, e.name);
    referenced.push(ref.key);
  }
  assert.deepEqual(Object.keys(secret.stringData).sort(), referenced.sort());
  for (const e of env(ALL_ON).filter((e) => !secretNames.has(e.name) && !e.valueFrom)) {
    assert.equal(typeof e.value, "string", `${e.name} is a quoted string`);
  }
});

Deno.test("the ServiceAccount offers the IRSA role annotation", () => {
  const sa = byKind(ALL_ON, "ServiceAccount");
  assert.match(
    sa.metadata.annotations["eks.amazonaws.com/role-arn"],
    /^arn:aws:iam::\d{12}:role\//,
  );
  assert.equal(byKind(OBJECTS, "ServiceAccount").metadata.annotations, undefined);
});

const kubectl = (() => {
  try {
    new Deno.Command("kubectl", { args: ["version", "--client"], stdout: "null", stderr: "null" })
      .outputSync();
    return true;
  } catch {
    return false;
  }
})();

async function kubectlNames(text: string): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "sth-manifest-" });
  try {
    await Deno.writeTextFile(`${dir}/manifest.yaml`, text);
    // --local: no server is contacted; KUBECONFIG points nowhere so none could be.
    const { code, stdout, stderr } = await new Deno.Command("kubectl", {
      args: ["label", "--local", "-f", `${dir}/manifest.yaml`, "checked=true", "-o", "name"],
      env: { KUBECONFIG: `${dir}/none` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return new TextDecoder().decode(stdout).trim().split("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "kubectl reads the same objects as the tests, with and without the options",
  ignore: !kubectl,
  async fn() {
    const names = [
      "serviceaccount/spot-termination-handler",
      "clusterrole.rbac.authorization.k8s.io/spot-termination-handler",
      "clusterrolebinding.rbac.authorization.k8s.io/spot-termination-handler",
      "daemonset.apps/spot-termination-handler",
    ];
    assert.deepEqual(await kubectlNames(TEXT), names);
    assert.deepEqual(await kubectlNames(uncomment(TEXT)), [
      ...names,
      "secret/spot-termination-handler",
    ]);
  },
});

if (!kubectl) console.warn("manifest_test: kubectl not found; its check is skipped");
