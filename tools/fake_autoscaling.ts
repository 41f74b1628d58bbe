/**
 * A local stand-in for the Auto Scaling API, speaking the AWS Query protocol the real SDK uses
 * (form-encoded POST, `Action` and `Version` fields, XML answers). The same listener also answers
 * STS `AssumeRoleWithWebIdentity` (IRSA) and serves container credentials on
 * `GET /v1/credentials` (EKS Pod Identity), so the SDK's default credential chain can be
 * exercised end to end without AWS. Used by tests, end-to-end tests and the demo.
 *
 * Run it alone: `deno run --allow-net tools/fake_autoscaling.ts i-0123456789abcdef0=my-group`.
 *
 * @module
 */

import { commandLine, parseToolArgs, untilSignal } from "./cli.ts";

/** One instance the fake knows, and the group it belongs to. */
export interface FakeInstance {
  instanceId: string;
  group: string;
  /** Defaults to `InService`. A successful DetachInstances moves it to `Detaching`. */
  lifecycleState?: string;
}

/** An error to answer instead of the normal response, e.g. `Throttling` with status 400. */
export interface FakeFailure {
  /** The Query action it applies to, e.g. `DetachInstances` or `AssumeRoleWithWebIdentity`. */
  action: string;
  code: string;
  status: number;
  /** How many requests fail before the action works again; every request when absent. */
  times?: number;
  message?: string;
}

/** One request the fake received. */
export interface FakeRequest {
  /** The Query action, or `GetContainerCredentials` for the Pod Identity endpoint. */
  action: string;
  /** All form fields (Query) or query parameters (container credentials). */
  params: Record<string, string>;
  /** The `Authorization` header as sent (SigV4 for Query calls, the token for Pod Identity). */
  authorization?: string;
}

/** Temporary credentials handed out by the STS and container credentials responders. */
export interface FakeCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** Options of {@linkcode startFakeAutoScaling}. */
export interface FakeAutoScalingOptions {
  instances?: FakeInstance[];
  failures?: FakeFailure[];
  /** What STS and the container credentials endpoint return; fixed fake values by default. */
  credentials?: FakeCredentials;
  /** Serve HTTPS with this PEM certificate and key instead of plain HTTP. */
  tls?: { cert: string; key: string };
  /** Called with each request before it is answered (e.g. to abort a client mid-request). */
  onRequest?: (request: FakeRequest) => void;
}

/** A running fake; close it when done. */
export interface FakeAutoScaling {
  /** Base URL, e.g. `http://127.0.0.1:41234`; use it as the Auto Scaling and STS endpoint. */
  url: string;
  /** Every request received, in order. */
  requests: FakeRequest[];
  /** A snapshot of the instances and their current lifecycle states. */
  instances(): FakeInstance[];
  close(): Promise<void>;
}

/** Default credentials of the STS and container credentials responders. */
export const FAKE_TEMPORARY_CREDENTIALS: FakeCredentials = {
  accessKeyId: "ASIAFAKETEMPORARYKEY",
  secretAccessKey: "fake-temporary-secret-access-key",
  sessionToken: "fake-session-token",
};

const AUTOSCALING_VERSION = "2011-01-01";
const STS_VERSION = "2011-06-15";
const AUTOSCALING_NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/";
const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const DETACHABLE_STATES = new Set(["InService", "Standby"]);

function escapeXml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

function xmlResponse(body: string, status = 200): Response {
  return new Response(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`, {
    status,
    headers: { "content-type": "text/xml" },
  });
}

function errorResponse(
  namespace: string,
  failure: { code: string; status: number; message?: string },
): Response {
  const type = failure.status >= 500 ? "Receiver" : "Sender";
  return xmlResponse(
    `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type>` +
      `<Code>${escapeXml(failure.code)}</Code>` +
      `<Message>${escapeXml(failure.message ?? failure.code)}</Message></Error>` +
      `<RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`,
    failure.status,
  );
}

function metadata(): string {
  return `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>`;
}

/** Values of `Prefix.member.1`, `Prefix.member.2`, ... in order. */
function members(params: Record<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; `${prefix}.member.${i}` in params; i++) out.push(params[`${prefix}.member.${i}`]);
  return out;
}

/**
 * Start the fake on 127.0.0.1 with a free port.
 *
 * @example
 * ```ts
 * const fake = startFakeAutoScaling({ instances: [{ instanceId: "i-0abc12345", group: "web" }] });
 * // AWS_ENDPOINT_URL_AUTO_SCALING=fake.url, or createAsgDetacher({ endpoint: fake.url, ... })
 * await fake.close();
 * ```
 */
export function startFakeAutoScaling(options: FakeAutoScalingOptions = {}): FakeAutoScaling {
  const instances = new Map<string, FakeInstance>();
  for (const i of options.instances ?? []) {
    instances.set(i.instanceId, { lifecycleState: "InService", ...i });
  }
  const failures = (options.failures ?? []).map((f) => ({ ...f, left: f.times ?? Infinity }));
  const credentials = options.credentials ?? FAKE_TEMPORARY_CREDENTIALS;
  const requests: FakeRequest[] = [];

  function injectedFailure(action: string): FakeFailure | undefined {
    const failure = failures.find((f) => f.action === action && f.left > 0);
    if (failure) failure.left--;
    return failure;
  }

  function describe(params: Record<string, string>): Response {
    const ids = members(params, "InstanceIds");
    const found = ids.length === 0 ? [...instances.values()] : ids.flatMap((id) => {
      const i = instances.get(id);
      return i ? [i] : [];
    });
    const xml = found.map((i) =>
      `<member><InstanceId>${escapeXml(i.instanceId)}</InstanceId>` +
      `<AutoScalingGroupName>${escapeXml(i.group)}</AutoScalingGroupName>` +
      `<AvailabilityZone>us-east-1a</AvailabilityZone>` +
      `<LifecycleState>${escapeXml(i.lifecycleState ?? "InService")}</LifecycleState>` +
      `<HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn>` +
      `<InstanceType>m5.large</InstanceType></member>`
    ).join("");
    return xmlResponse(
      `<DescribeAutoScalingInstancesResponse xmlns="${AUTOSCALING_NS}">` +
        `<DescribeAutoScalingInstancesResult><AutoScalingInstances>${xml}</AutoScalingInstances>` +
        `</DescribeAutoScalingInstancesResult>${metadata()}</DescribeAutoScalingInstancesResponse>`,
    );
  }

  function detach(params: Record<string, string>): Response {
    const group = params.AutoScalingGroupName;
    const decrement = params.ShouldDecrementDesiredCapacity;
    const ids = members(params, "InstanceIds");
    // The real API rejects these the same way: all three parameters are required.
    if (!group || (decrement !== "true" && decrement !== "false")) {
      return errorResponse(AUTOSCALING_NS, {
        code: "ValidationError",
        status: 400,
        message: "AutoScalingGroupName and ShouldDecrementDesiredCapacity are required",
      });
    }
    for (const id of ids) {
      const i = instances.get(id);
      if (!i || i.group !== group) {
        return errorResponse(AUTOSCALING_NS, {
          code: "ValidationError",
          status: 400,
          message: `The instance ${id} is not part of Auto Scaling group ${group}.`,
        });
      }
      if (!DETACHABLE_STATES.has(i.lifecycleState ?? "InService")) {
        return errorResponse(AUTOSCALING_NS, {
          code: "ValidationError",
          status: 400,
          message: `The instance ${id} is not in InService or Standby.`,
        });
      }
    }
    const activities = ids.map((id) => {
      instances.get(id)!.lifecycleState = "Detaching";
      return `<member><ActivityId>${crypto.randomUUID()}</ActivityId>` +
        `<AutoScalingGroupName>${escapeXml(group)}</AutoScalingGroupName>` +
        `<Description>Detaching EC2 instance: ${escapeXml(id)}</Description>` +
        `<Cause>An instance was detached in response to a user request.</Cause>` +
        `<StartTime>${new Date().toISOString()}</StartTime><StatusCode>InProgress</StatusCode>` +
        `<Progress>50</Progress></member>`;
    }).join("");
    return xmlResponse(
      `<DetachInstancesResponse xmlns="${AUTOSCALING_NS}"><DetachInstancesResult>` +
        `<Activities>${activities}</Activities></DetachInstancesResult>${metadata()}` +
        `</DetachInstancesResponse>`,
    );
  }

  function assumeRole(params: Record<string, string>): Response {
    if (!params.RoleArn || !params.WebIdentityToken) {
      return errorResponse(STS_NS, {
        code: "ValidationError",
        status: 400,
        message: "RoleArn and WebIdentityToken are required",
      });
    }
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    return xmlResponse(
      `<AssumeRoleWithWebIdentityResponse xmlns="${STS_NS}"><AssumeRoleWithWebIdentityResult>` +
        `<Credentials><AccessKeyId>${escapeXml(credentials.accessKeyId)}</AccessKeyId>` +
        `<SecretAccessKey>${escapeXml(credentials.secretAccessKey)}</SecretAccessKey>` +
        `<SessionToken>${escapeXml(credentials.sessionToken)}</SessionToken>` +
        `<Expiration>${expiration}</Expiration></Credentials>` +
        `<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/fake/${
          escapeXml(params.RoleSessionName ?? "session")
        }</Arn><AssumedRoleId>AROAFAKE:session</AssumedRoleId></AssumedRoleUser>` +
        `<SubjectFromWebIdentityToken>system:serviceaccount:kube-system:sth` +
        `</SubjectFromWebIdentityToken></AssumeRoleWithWebIdentityResult>${metadata()}` +
        `</AssumeRoleWithWebIdentityResponse>`,
    );
  }

  function containerCredentials(): Response {
    return Response.json({
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.sessionToken,
      AccountId: "123456789012",
      Expiration: new Date(Date.now() + 3600_000).toISOString(),
    });
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const authorization = req.headers.get("authorization") ?? undefined;
    if (req.method === "GET" && url.pathname === "/v1/credentials") {
      const request = {
        action: "GetContainerCredentials",
        params: Object.fromEntries(url.searchParams),
        authorization,
      };
      requests.push(request);
      options.onRequest?.(request);
      const failure = injectedFailure(request.action);
      if (failure) {
        return Response.json({ Code: failure.code, Message: failure.message ?? failure.code }, {
          status: failure.status,
        });
      }
      return containerCredentials();
    }
    if (req.method !== "POST") {
      return errorResponse(AUTOSCALING_NS, {
        code: "InvalidAction",
        status: 400,
        message: `${req.method} ${url.pathname} is not supported`,
      });
    }
    const params = Object.fromEntries(new URLSearchParams(await req.text()));
    const action = params.Action ?? "";
    const request = { action, params, authorization };
    requests.push(request);
    options.onRequest?.(request);
    const isSts = action === "AssumeRoleWithWebIdentity";
    const namespace = isSts ? STS_NS : AUTOSCALING_NS;
    const expectedVersion = isSts ? STS_VERSION : AUTOSCALING_VERSION;
    if (params.Version !== expectedVersion) {
      return errorResponse(namespace, {
        code: "InvalidParameterValue",
        status: 400,
        message: `Version must be ${expectedVersion} for ${action}, got ${params.Version}`,
      });
    }
    // AssumeRoleWithWebIdentity is the one unsigned call: the token is the credential.
    if (!isSts && !authorization) {
      return errorResponse(namespace, {
        code: "MissingAuthenticationToken",
        status: 403,
        message: "Request is missing Authentication Token",
      });
    }
    const failure = injectedFailure(action);
    if (failure) return errorResponse(namespace, failure);
    switch (action) {
      case "DescribeAutoScalingInstances":
        return describe(params);
      case "DetachInstances":
        return detach(params);
      case "AssumeRoleWithWebIdentity":
        return assumeRole(params);
      default:
        return errorResponse(namespace, {
          code: "InvalidAction",
          status: 400,
          message: `Could not find operation ${action} for version ${params.Version}`,
        });
    }
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    ...(options.tls ?? {}),
  }, handle);
  const scheme = options.tls ? "https" : "http";
  return {
    url: `${scheme}://127.0.0.1:${server.addr.port}`,
    requests,
    instances: () => [...instances.values()].map((i) => ({ ...i })),
    close: async () => {
      await server.shutdown();
    },
  };
}

const USAGE = "usage: fake_autoscaling.ts INSTANCE_ID=GROUP ...";

/** The instances of the command line, each `INSTANCE_ID=GROUP`; throws a TypeError otherwise. */
function scriptInstances(args: string[]): FakeInstance[] {
  const { positionals } = parseToolArgs({ args, allowPositionals: true, options: {} });
  return positionals.map((arg) => {
    const [instanceId, group] = arg.split("=");
    if (!instanceId || !group) throw new TypeError(`argument "${arg}" is not INSTANCE_ID=GROUP`);
    return { instanceId, group };
  });
}

async function main(args: string[]): Promise<number> {
  const instances = commandLine("fake_autoscaling", USAGE, () => scriptInstances(args));
  if (!instances) return 2;
  const fake = startFakeAutoScaling({ instances });
  console.log(`fake Auto Scaling listening on ${fake.url}`);
  await untilSignal();
  await fake.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
