/**
 * The AWS SDK's default credential chain, run in a subprocess with exactly the handler's
 * permissions (lib/permissions.ts) plus read access to one token file, against the local fake.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { HANDLER_PERMISSIONS } from "../lib/permissions.ts";
import type { AsgResult } from "../lib/report.ts";
import {
  FAKE_TEMPORARY_CREDENTIALS,
  type FakeAutoScaling,
  type FakeAutoScalingOptions,
  startFakeAutoScaling,
} from "../tools/fake_autoscaling.ts";

const ID = "i-0123456789abcdef0";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const TLS_CERT = fixture("asg_tls_cert.pem");
const TLS_KEY = fixture("asg_tls_key.pem");
const ENV_KEY = { id: "AKIAENVSTATICKEY0001", secret: "env-static-secret-access-key" };
const SHARED_FILE_KEY = "AKIASHAREDFILEKEY001";
const WEB_IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.fake-projected-service-account-token.sig";
const ROLE_ARN = "arn:aws:iam::123456789012:role/spot-termination-handler";

let cachedDenoDir: string | undefined;

/** The subprocess gets its own HOME, so it must be told where the module cache is. */
async function denoDir(): Promise<string> {
  if (cachedDenoDir) return cachedDenoDir;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  cachedDenoDir = JSON.parse(new TextDecoder().decode(out.stdout)).denoDir as string;
  return cachedDenoDir;
}

interface Sandbox {
  home: string;
  tokenFile: string;
  dir: string;
}

/** A HOME whose ~/.aws holds usable-looking credentials, and a projected token file. */
async function makeSandbox(): Promise<Sandbox> {
  const dir = await Deno.makeTempDir({ prefix: "sth_asg_creds_" });
  const home = `${dir}/home`;
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  await Deno.writeTextFile(
    `${home}/.aws/credentials`,
    `[default]\naws_access_key_id = ${SHARED_FILE_KEY}\naws_secret_access_key = shared-secret\n`,
  );
  await Deno.writeTextFile(`${home}/.aws/config`, "[default]\nregion = us-west-2\n");
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, WEB_IDENTITY_TOKEN);
  return { dir, home, tokenFile };
}

interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

async function runFixture(
  script: string,
  fake: FakeAutoScaling,
  options: { sandbox: Sandbox; env: Record<string, string>; extraFlags?: string[] },
): Promise<RunOutput> {
  const { sandbox, env, extraFlags = [] } = options;
  const out = await new Deno.Command(Deno.execPath(), {
    cwd: ROOT,
    args: [
      "run",
      ...HANDLER_PERMISSIONS,
      `--allow-read=${sandbox.tokenFile}`,
      ...extraFlags,
      fixture(script),
      fake.url,
      ID,
    ],
    clearEnv: true,
    env: {
      HOME: sandbox.home,
      DENO_DIR: await denoDir(),
      NO_COLOR: "1",
      // Nothing may fall through to the real instance metadata service.
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:1",
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function withSandbox(
  fakeOptions: FakeAutoScalingOptions,
  fn: (fake: FakeAutoScaling, sandbox: Sandbox) => Promise<void>,
): Promise<void> {
  const fake = startFakeAutoScaling({
    instances: [{ instanceId: ID, group: "spot-workers" }],
    ...fakeOptions,
  });
  const sandbox = await makeSandbox();
  try {
    await fn(fake, sandbox);
  } finally {
    await fake.close();
    await Deno.remove(sandbox.dir, { recursive: true });
  }
}

function detachOutput(run: RunOutput): { result: AsgResult; lines: string[] } {
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!);
}

function assertSignedWith(fake: FakeAutoScaling, accessKeyId: string): void {
  const asgCalls = fake.requests.filter((r) =>
    r.action === "DescribeAutoScalingInstances" || r.action === "DetachInstances"
  );
  assert.deepEqual(asgCalls.map((r) => r.action), [
    "DescribeAutoScalingInstances",
    "DetachInstances",
  ]);
  for (const r of asgCalls) {
    assert.match(r.authorization ?? "", new RegExp(`^AWS4-HMAC-SHA256 Credential=${accessKeyId}/`));
  }
}

function assertNoSecrets(run: RunOutput): void {
  for (
    const secret of [
      ENV_KEY.secret,
      FAKE_TEMPORARY_CREDENTIALS.secretAccessKey,
      FAKE_TEMPORARY_CREDENTIALS.sessionToken,
      WEB_IDENTITY_TOKEN,
    ]
  ) {
    assert.ok(!run.stdout.includes(secret), `stdout leaks a secret: ${run.stdout}`);
    assert.ok(!run.stderr.includes(secret), `stderr leaks a secret: ${run.stderr}`);
  }
}

const IRSA_ENV = (fake: FakeAutoScaling, sandbox: Sandbox) => ({
  AWS_WEB_IDENTITY_TOKEN_FILE: sandbox.tokenFile,
  AWS_ROLE_ARN: ROLE_ARN,
  AWS_ROLE_SESSION_NAME: "sth-test",
  AWS_ENDPOINT_URL_STS: fake.url,
});

Deno.test("the default chain signs with static env credentials under the handler's permissions", async () => {
  await withSandbox({}, async (fake, sandbox) => {
    const run = await runFixture("asg_detach.ts", fake, {
      sandbox,
      env: { AWS_ACCESS_KEY_ID: ENV_KEY.id, AWS_SECRET_ACCESS_KEY: ENV_KEY.secret },
    });
    const { result, lines } = detachOutput(run);
    assert.deepEqual(result, { status: "detached", group: "spot-workers" });
    assert.equal(lines.length, 1);
    assertSignedWith(fake, ENV_KEY.id);
    assertNoSecrets(run);
  });
});

Deno.test("the default chain assumes the IRSA role through STS although ~/.aws is unreadable", async () => {
  await withSandbox({}, async (fake, sandbox) => {
    const run = await runFixture("asg_detach.ts", fake, { sandbox, env: IRSA_ENV(fake, sandbox) });
    const { result } = detachOutput(run);
    assert.deepEqual(result, { status: "detached", group: "spot-workers" });
    assert.equal(fake.requests[0].action, "AssumeRoleWithWebIdentity");
    assert.equal(fake.requests[0].params.Version, "2011-06-15");
    assert.equal(fake.requests[0].params.RoleArn, ROLE_ARN);
    assert.equal(fake.requests[0].params.RoleSessionName, "sth-test");
    assert.equal(fake.requests[0].params.WebIdentityToken, WEB_IDENTITY_TOKEN);
    assertSignedWith(fake, FAKE_TEMPORARY_CREDENTIALS.accessKeyId);
    assertNoSecrets(run);
  });
});

Deno.test("the IRSA test's ~/.aws is real: once readable, its key wins over the token", async () => {
  // Control for the test above: the shared file comes before the token file in the chain, so
  // only the denied read lets the chain reach STS.
  await withSandbox({}, async (fake, sandbox) => {
    const run = await runFixture("asg_detach.ts", fake, {
      sandbox,
      env: IRSA_ENV(fake, sandbox),
      extraFlags: [`--allow-read=${sandbox.home}`],
    });
    assert.equal(detachOutput(run).result.status, "detached");
    assert.ok(!fake.requests.some((r) => r.action === "AssumeRoleWithWebIdentity"));
    assertSignedWith(fake, SHARED_FILE_KEY);
  });
});

Deno.test("the default chain gets EKS Pod Identity credentials from the container endpoint", async () => {
  await withSandbox({}, async (fake, sandbox) => {
    const run = await runFixture("asg_detach.ts", fake, {
      sandbox,
      env: {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fake.url}/v1/credentials`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: sandbox.tokenFile,
      },
    });
    assert.deepEqual(detachOutput(run).result, { status: "detached", group: "spot-workers" });
    assert.equal(fake.requests[0].action, "GetContainerCredentials");
    assert.equal(fake.requests[0].authorization, WEB_IDENTITY_TOKEN);
    assertSignedWith(fake, FAKE_TEMPORARY_CREDENTIALS.accessKeyId);
    assertNoSecrets(run);
  });
});

// With NODE_EXTRA_CA_CERTS set, Deno's node:https asks for sys access "ca", which the handler's
// permissions do not grant; fetch trusts DENO_CERT instead. So over HTTPS, only a chain whose
// STS client uses fetch can succeed.
async function tlsSandbox(
  fn: (fake: FakeAutoScaling, sandbox: Sandbox, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const tls = { cert: await Deno.readTextFile(TLS_CERT), key: await Deno.readTextFile(TLS_KEY) };
  await withSandbox({ tls }, async (fake, sandbox) => {
    assert.match(fake.url, /^https:\/\/127\.0\.0\.1:/);
    await fn(fake, sandbox, {
      ...IRSA_ENV(fake, sandbox),
      DENO_CERT: TLS_CERT,
      NODE_EXTRA_CA_CERTS: TLS_CERT,
    });
  });
}

Deno.test("the IRSA chain reaches STS and Auto Scaling over HTTPS through fetch, not node:https", async () => {
  await tlsSandbox(async (fake, sandbox, env) => {
    const run = await runFixture("asg_detach.ts", fake, { sandbox, env });
    assert.deepEqual(detachOutput(run).result, { status: "detached", group: "spot-workers" });
    assert.equal(fake.requests[0].action, "AssumeRoleWithWebIdentity");
    assertSignedWith(fake, FAKE_TEMPORARY_CREDENTIALS.accessKeyId);
  });
});

Deno.test("the HTTPS test can tell: the SDK's node:https handler fails under the same permissions", async () => {
  await tlsSandbox(async (fake, sandbox, env) => {
    // One attempt per client, so the expected failure is not retried with backoff.
    const run = await runFixture("asg_node_https.ts", fake, {
      sandbox,
      env: { ...env, AWS_MAX_ATTEMPTS: "1" },
    });
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    assert.match(out.error ?? "", /sys access to "ca"/);
    assert.deepEqual(fake.requests, []);
  });
});
