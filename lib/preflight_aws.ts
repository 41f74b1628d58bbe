/**
 * The preflight's AWS checks: the instance metadata service answers (and with it the instance's
 * identity), and, when `DETACH_ASG` is on, the pod has AWS credentials of some kind (IRSA, EKS
 * Pod Identity, static keys or an instance profile).
 *
 * @module
 */

import type { Identity, Imds } from "./imds.ts";
import { type CheckResult, failure } from "./preflight_result.ts";

/** The AWS variables the credential check looks at; passed in because only config reads env. */
export interface AwsCredentialEnv {
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_WEB_IDENTITY_TOKEN_FILE?: string;
  AWS_ROLE_ARN?: string;
  AWS_CONTAINER_CREDENTIALS_FULL_URI?: string;
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI?: string;
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE?: string;
}

async function defaultReadable(path: string): Promise<boolean> {
  try {
    await Deno.readTextFile(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The IMDS check; its identity, when it answered.
 *
 * @example
 * ```ts
 * declare const imds: Pick<import("./imds.ts").Imds, "identity">;
 * const { result, identity } = await imdsCheck(imds, true);
 * ```
 */
export async function imdsCheck(
  imds: Pick<Imds, "identity">,
  imdsV1Disabled: boolean,
): Promise<{ result: CheckResult; identity?: Identity }> {
  try {
    const identity = await imds.identity();
    return {
      result: {
        name: "imds",
        ok: true,
        detail:
          `instance ${identity.instanceId} (${identity.instanceType}, ${identity.availabilityZone})`,
      },
      identity,
    };
  } catch (error) {
    const kind = (error as { kind?: string }).kind;
    const fix = kind === "token" && imdsV1Disabled
      ? "IMDSv2 token PUT got no answer: with hostNetwork off, raise the instance's metadata hop limit to 2 (aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2) or run with hostNetwork: true"
      : "check AWS_EC2_METADATA_SERVICE_ENDPOINT and that the pod can reach the instance metadata service (hostNetwork, network policies)";
    return { result: failure("imds", (error as Error)?.message ?? String(error), fix) };
  }
}

/**
 * The AWS credentials check: the first source the SDK would use, and whether it can be read.
 * `readable` tells whether a token file can be read (default: try to read it).
 *
 * @example
 * ```ts
 * declare const imds: Pick<import("./imds.ts").Imds, "get">;
 * const result = await awsCheck({ AWS_ROLE_ARN: "arn:aws:iam::1:role/x" }, imds);
 * ```
 */
export async function awsCheck(
  env: AwsCredentialEnv,
  imds: Pick<Imds, "get">,
  readable: (path: string) => Promise<boolean> = defaultReadable,
): Promise<CheckResult> {
  const fix =
    "give the pod AWS credentials: IRSA (eks.amazonaws.com/role-arn on the ServiceAccount), EKS Pod Identity, or an instance profile; or unset DETACH_ASG";
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE) {
    return await readable(env.AWS_WEB_IDENTITY_TOKEN_FILE)
      ? { name: "aws-credentials", ok: true, detail: "IRSA web identity token file" }
      : failure(
        "aws-credentials",
        `AWS_WEB_IDENTITY_TOKEN_FILE ${env.AWS_WEB_IDENTITY_TOKEN_FILE} cannot be read`,
        fix,
      );
  }
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) {
    const file = env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
    if (file && !await readable(file)) {
      return failure(
        "aws-credentials",
        `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ${file} cannot be read`,
        fix,
      );
    }
    return {
      name: "aws-credentials",
      ok: true,
      detail: "EKS Pod Identity / container credentials",
    };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return { name: "aws-credentials", ok: true, detail: "static keys (AWS_ACCESS_KEY_ID)" };
  }
  try {
    const roles = await imds.get("meta-data/iam/security-credentials/");
    const role = roles.status === 200
      ? roles.body.split("\n").map((s) => s.trim()).find(Boolean)
      : undefined;
    if (role) return { name: "aws-credentials", ok: true, detail: `instance profile role ${role}` };
    return failure(
      "aws-credentials",
      "no IRSA, Pod Identity or static keys, and IMDS lists no instance profile role",
      fix,
    );
  } catch (error) {
    return failure(
      "aws-credentials",
      `no IRSA, Pod Identity or static keys, and IMDS could not be asked for an instance profile (${
        (error as Error)?.message
      })`,
      fix,
    );
  }
}
