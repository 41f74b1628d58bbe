/**
 * End to end: the ClusterRole in daemonset.yaml against what the handler really calls. main.ts
 * runs as a subprocess with the shipped permissions through a spot interruption that takes every
 * code path needing the API (own pod lookup without NODE_NAME, cordon and taint, a
 * PodDisruptionBudget refusal, an Event, ASG detach); the set of (group, resource, subresource,
 * verb) it used must equal the set the ClusterRole grants: nothing missing, nothing extra. The
 * Auto Scaling actions it used must equal those of the documented IAM policy.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "../dev_deps.ts";
import { DEMO_HANDLER_POD, demoPods } from "../tools/fake_apiserver.ts";
import type { ApiRequestRecord } from "../tools/fake_apiserver_store.ts";
import { spawnHandler } from "../tools/handler_process.ts";
import { startStack } from "../tools/stack.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const NODE = "ip-10-0-1-23.ec2.internal";
const PDB_POD = "payments-6c9d8f5b7-r2d2x";

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** `group|resource|subresource|verb`, the unit RBAC authorizes. */
function permission(group: string, resource: string, subresource: string, verb: string): string {
  return `${group}|${resource}|${subresource}|${verb}`;
}

/** Every permission the rules grant; `pods/eviction` is resource `pods`, subresource `eviction`. */
function granted(rules: PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const full of rule.resources) {
        const [resource, subresource = ""] = full.split("/");
        for (const verb of rule.verbs) out.add(permission(group, resource, subresource, verb));
      }
    }
  }
  return out;
}

/** Every permission the recorded requests needed; non-resource URLs are left to the caller. */
function used(requests: ApiRequestRecord[]): Set<string> {
  // SelfSubjectAccessReview (the preflight) is granted to every authenticated user by the
  // built-in system:basic-user ClusterRole; the handler's own role need not and does not list it.
  return new Set(
    requests.filter((r) => !r.nonResource && r.resource !== "selfsubjectaccessreviews").map((r) =>
      permission(r.group, r.resource, r.subresource ?? "", r.verb)
    ),
  );
}

function clusterRoleRules(): PolicyRule[] {
  const objects = parseAllDocuments(Deno.readTextFileSync(`${ROOT}daemonset.yaml`))
    .map((d) => d.toJS() as { kind?: string; rules?: PolicyRule[] } | null);
  const roles = objects.filter((o) => o?.kind === "ClusterRole");
  assert.equal(roles.length, 1, "daemonset.yaml has one ClusterRole");
  return roles[0]!.rules!;
}

/** The Auto Scaling actions of the IAM policy in docs/operations.md. */
function documentedAutoScalingActions(): Set<string> {
  const text = Deno.readTextFileSync(`${ROOT}docs/operations.md`);
  for (const [, block] of text.matchAll(/```json\n([\s\S]*?)```/g)) {
    if (!block.includes('"autoscaling:')) continue;
    const policy = JSON.parse(block) as {
      Statement: Array<{ Effect: string; Action: string | string[] }>;
    };
    const actions = policy.Statement.filter((s) => s.Effect === "Allow")
      .flatMap((s) => typeof s.Action === "string" ? [s.Action] : s.Action);
    return new Set(actions.map((a) => a.replace(/^autoscaling:/, "")));
  }
  assert.fail("no IAM policy with autoscaling: actions in docs/operations.md");
}

Deno.test("granted expands resources, subresources and verbs; used reads the recorded requests", () => {
  assert.deepEqual(
    [...granted([{ apiGroups: [""], resources: ["pods", "pods/eviction"], verbs: ["create"] }])],
    ["|pods||create", "|pods|eviction|create"],
  );
  const base = { method: "GET", path: "/", status: 200, at: 0 };
  assert.deepEqual(
    [
      ...used([
        { ...base, verb: "list", group: "", resource: "pods" },
        { ...base, verb: "list", group: "", resource: "pods" },
        { ...base, verb: "create", group: "", resource: "pods", subresource: "eviction" },
        { ...base, verb: "get", group: "", resource: "", nonResource: true },
      ]),
    ],
    ["|pods||list", "|pods|eviction|create"],
  );
});

Deno.test("e2e: the ClusterRole grants exactly the API calls of a full spot interruption, and IAM exactly its AWS calls", async () => {
  const stack = await startStack({
    node: NODE,
    api: { pods: demoPods(NODE), deleteAfterMs: 200 },
    imds: { scenario: { spot: { action: "terminate", afterMs: 300 } } },
  });
  const env: Record<string, string> = {
    ...stack.env,
    POD_NAME: DEMO_HANDLER_POD.name,
    NAMESPACE: DEMO_HANDLER_POD.namespace,
    DETACH_ASG: "true",
  };
  // Without NODE_NAME the handler finds its node through its own pod: the `get pods` path.
  delete env.NODE_NAME;
  const handler = spawnHandler({ kubeconfig: stack.kubeconfig, env });
  try {
    await handler.waitForLine(/notice handled/, 30_000);
    await stack.sink.waitFor(2, { pathPrefix: "/webhook", timeoutMs: 10_000 });
  } finally {
    await handler.stop();
    await stack.close();
  }
  const requests = stack.api.requests;

  // The scenario did take the paths it is meant to cover.
  assert.ok(
    requests.some((r) =>
      r.verb === "get" && r.resource === "pods" && r.namespace === DEMO_HANDLER_POD.namespace &&
      r.name === DEMO_HANDLER_POD.name
    ),
    "own pod looked up",
  );
  const pdb = requests.filter((r) => r.subresource === "eviction" && r.name === PDB_POD);
  assert.ok(pdb.some((r) => r.status === 429), "the PodDisruptionBudget refused an eviction");
  assert.equal(pdb.at(-1)?.status, 201, "and then allowed it");
  assert.ok(stack.asg.requests.some((r) => r.action === "DetachInstances"), "ASG detach ran");

  // Nothing failed for want of a permission or a route the stand-in does not serve.
  const unexpected = requests.filter((r) =>
    !(r.status >= 200 && r.status < 300) && !(r.status === 429 && r.subresource === "eviction")
  );
  assert.deepEqual(unexpected.map((r) => `${r.method} ${r.path} ${r.status}`), []);
  assert.deepEqual(
    requests.filter((r) => r.nonResource).map((r) => r.path),
    [],
    "no discovery or /version calls (those would need nonResourceURLs)",
  );
  assert.ok(
    requests.filter((r) => r.resource === "events").every((r) => r.namespace === "default"),
    "Events go to namespace default, beside the kubelet's node events",
  );

  const needed = used(requests);
  const allowed = granted(clusterRoleRules());
  assert.deepEqual([...needed].filter((p) => !allowed.has(p)).sort(), [], "missing from the role");
  assert.deepEqual([...allowed].filter((p) => !needed.has(p)).sort(), [], "granted but unused");

  const actions = new Set(stack.asg.requests.map((r) => r.action));
  assert.deepEqual([...actions].sort(), [...documentedAutoScalingActions()].sort());
});
