import assert from "node:assert/strict";
import { KubeError } from "../lib/kube_errors.ts";
import { resolveInCluster, resolveKubeconfig } from "../lib/kubeconfig.ts";
import { parseKubeconfigText, UnsupportedKubeconfigError } from "../lib/kubeconfig_yaml.ts";

const KUBECTL_STYLE = `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: "http://127.0.0.1:8001"
    insecure-skip-tls-verify: true
contexts:
- name: fake # a comment
  context:
    cluster: fake
    user: fake
    namespace: default
current-context: fake
users:
- name: fake
  user:
    token: "s3cr3t-token"
`;

const files = (map: Record<string, string>) => (path: string) =>
  map[path] !== undefined
    ? Promise.resolve(map[path])
    : Promise.reject(Object.assign(new Error("nope"), { name: "NotFound" }));

Deno.test("parseKubeconfigText reads the block YAML kubectl writes", () => {
  const config = parseKubeconfigText(KUBECTL_STYLE);
  assert.equal(config["current-context"], "fake");
  assert.deepEqual((config.users as unknown[])[0], {
    name: "fake",
    user: { token: "s3cr3t-token" },
  });
  assert.deepEqual((config.clusters as unknown[])[0], {
    name: "fake",
    cluster: { server: "http://127.0.0.1:8001", "insecure-skip-tls-verify": true },
  });
});

Deno.test("parseKubeconfigText reads JSON kubeconfigs", () => {
  assert.deepEqual(parseKubeconfigText('{"current-context":"a"}'), { "current-context": "a" });
});

Deno.test("a malformed kubeconfig is a config error that never quotes the file", () => {
  for (
    const text of [
      'users:\n- name: x\n  user:\n    token: "abc-secret-token\n',
      "users:\n  - name: x\n token: abc-secret-token\n",
      '{"token": "abc-secret-token",}',
    ]
  ) {
    assert.throws(() => parseKubeconfigText(text), (error: unknown) => {
      assert.ok(error instanceof KubeError, String(error));
      assert.equal(error.kind, "config");
      assert.doesNotMatch(error.message, /abc-secret-token/);
      return true;
    });
  }
});

Deno.test("YAML beyond the small reader is reported as unsupported, for the full client", () => {
  assert.throws(
    () => parseKubeconfigText("users:\n- name: &anchor x\n"),
    UnsupportedKubeconfigError,
  );
});

Deno.test("resolveKubeconfig takes the current context's server and token", async () => {
  const target = await resolveKubeconfig(parseKubeconfigText(KUBECTL_STYLE), {
    path: "/k/config",
    readText: files({}),
  });
  assert.deepEqual(target, {
    server: "http://127.0.0.1:8001",
    token: "s3cr3t-token",
    source: "/k/config",
  });
});

Deno.test("resolveKubeconfig refuses plain http without insecure-skip-tls-verify, as the full client would", async () => {
  const text = KUBECTL_STYLE.replace("    insecure-skip-tls-verify: true\n", "");
  await assert.rejects(
    resolveKubeconfig(parseKubeconfigText(text), { path: "/k/config", readText: files({}) }),
    (error: unknown) =>
      error instanceof KubeError && error.kind === "tls" &&
      /HTTP protocol is not allowed when skipTLSVerify is not set/.test(error.message),
  );
});

Deno.test("resolveKubeconfig reads CA and client certificate files relative to the kubeconfig", async () => {
  const text = `current-context: c
contexts:
- name: c
  context:
    cluster: k
    user: u
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
users:
- name: u
  user:
    client-certificate-data: ${btoa("CERT")}
    client-key: /abs/key.pem
`;
  const target = await resolveKubeconfig(parseKubeconfigText(text), {
    path: "/k/config",
    readText: files({ "/k/ca.crt": "CA", "/abs/key.pem": "KEY" }),
  });
  assert.equal(target.caPem, "CA");
  assert.equal(target.certPem, "CERT");
  assert.equal(target.keyPem, "KEY");
});

Deno.test("resolveKubeconfig names a missing context or unreadable CA as a config error", async () => {
  await assert.rejects(
    resolveKubeconfig({ "current-context": "nope", contexts: [] }, {
      path: "/k",
      readText: files({}),
    }),
    (e: unknown) =>
      e instanceof KubeError && e.kind === "config" && /context "nope"/.test(e.message),
  );
  const text = KUBECTL_STYLE.replace(
    "    insecure-skip-tls-verify: true",
    "    certificate-authority: /missing/ca.crt",
  ).replace('"http://', '"https://');
  await assert.rejects(
    resolveKubeconfig(parseKubeconfigText(text), { path: "/k", readText: files({}) }),
    (e: unknown) =>
      e instanceof KubeError && e.kind === "config" && /\/missing\/ca.crt/.test(e.message),
  );
});

Deno.test("exec plugins and https without certificate checks go to the full client", async () => {
  const exec = KUBECTL_STYLE.replace('    token: "s3cr3t-token"', "    exec:\n      command: aws");
  await assert.rejects(
    resolveKubeconfig(parseKubeconfigText(exec), { path: "/k", readText: files({}) }),
    UnsupportedKubeconfigError,
  );
  const insecure = KUBECTL_STYLE.replace('"http://', '"https://');
  await assert.rejects(
    resolveKubeconfig(parseKubeconfigText(insecure), { path: "/k", readText: files({}) }),
    UnsupportedKubeconfigError,
  );
});

Deno.test("resolveInCluster uses the service host and the mounted token and CA", async () => {
  const target = await resolveInCluster({ host: "10.100.0.1", port: "443" }, {
    dir: "/sa",
    readText: files({ "/sa/ca.crt": "CA", "/sa/token": "T" }),
  });
  assert.deepEqual(target, {
    server: "https://10.100.0.1:443",
    tokenFile: "/sa/token",
    caPem: "CA",
    source: "in-cluster",
  });
  await assert.rejects(
    resolveInCluster({}, { dir: "/sa", readText: files({}) }),
    (e: unknown) => e instanceof KubeError && /KUBECONFIG/.test(e.message),
  );
  await assert.rejects(
    resolveInCluster({ host: "h", port: "1" }, { dir: "/sa", readText: files({}) }),
    (e: unknown) =>
      e instanceof KubeError && e.kind === "config" &&
      /automountServiceAccountToken/.test(e.message),
  );
});
