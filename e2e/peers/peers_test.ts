/**
 * End-to-end scenarios against real peers: etcd, kube-apiserver with RBAC,
 * kube-controller-manager (PodDisruptionBudget status), kwok as the kubelet,
 * amazon-ec2-metadata-mock as IMDS and moto as the Auto Scaling API. The handler runs as a
 * subprocess with the shipped permission flags and a token of the manifest's ServiceAccount.
 *
 * Skipped, with one line saying why, when the peers are not built (tools/peers/setup.sh).
 * Run: `deno test -A e2e/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseAllDocuments } from "../../dev_deps.ts";
import { type HandlerProcess, spawnHandler } from "../../tools/handler_process.ts";
import { helmTemplate, locateHelm } from "../../tools/helm.ts";
import { kubectlVersion } from "../../tools/kubectl.ts";
import {
  DEFAULT_PEERS_DIR,
  freePort,
  locatePeers,
  type Peers,
  startPeers,
} from "../../tools/peers/peers.ts";
import type { Aemm, AemmOptions } from "../../tools/peers/peers.ts";
import { type SinkRequest, startWebhookSink, type WebhookSink } from "../../tools/webhook_sink.ts";
import {
  applyRbac,
  type AutoScaling,
  canI,
  createAutoScaling,
  FAKE_AWS_ENV,
  type HandlerIdentity,
  MANIFEST_PATH,
  readMetric,
  serviceAccountToken,
  waitFor,
  waitForLog,
} from "./harness.ts";
import {
  createNamespace,
  createNode,
  createOwner,
  createPdb,
  createPod,
  getPod,
  type NodeState,
  type Owner,
  waitPodGone,
  waitPodsReady,
} from "./workloads.ts";

const TAINT_KEY = "spot-termination-handler/notice";
const LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers";
const MAINTENANCE_KEY = "spot-termination-handler/scheduled-maintenance";

/** `aemm events` arguments for one system-reboot event in `state`, due at `notBefore`. */
function rebootEvent(state: string, notBefore: number): string[] {
  return [
    "events",
    "-o",
    "system-reboot",
    "-t",
    state,
    "-b",
    iso(notBefore),
    "-a",
    iso(notBefore + 3_600_000),
    "-l",
    iso(notBefore + 7_200_000),
  ];
}

/** The handler's record of the maintenance event on the node. */
function maintenanceRecord(node: NodeState): Record<string, unknown> | undefined {
  const value = node.metadata.annotations?.[MAINTENANCE_KEY];
  return value ? JSON.parse(value) : undefined;
}
const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const LOG_DIR = `${DEFAULT_PEERS_DIR}/logs/run`;

/** The generic webhook's body (schema version 1), as far as the scenarios read it. */
interface WebhookEvent {
  event: "notice" | "result" | "canceled" | "returned";
  kind: string;
  action: string;
  noticeId: string;
  node: string;
  instanceId: string;
  deadline: string;
  plan: string[];
  notAfter?: string;
  actionAt?: string;
  state?: string;
  returned?: { why: string; uncordoned: boolean; removed: string[] };
  result?: {
    drained: boolean;
    drain: { status: string; reason?: string } | null;
    evicted: string[];
    remaining: { pod: string; reason: string }[];
    failed: { pod: string; reason: string }[];
    skipped: { pod: string; reason: string }[];
    asg: { status: string; group?: string } | null;
  };
}

function skipReason(): string | undefined {
  const found = locatePeers();
  if (!found.ok) {
    const names = found.missing.map((p) => p.split("/").pop()).join(", ");
    return `peers not built (missing ${names}); run tools/peers/setup.sh`;
  }
  try {
    Deno.statSync(`${REPO_ROOT}/main.ts`);
  } catch {
    return "main.ts does not exist yet";
  }
  return undefined;
}

const SKIP = skipReason();
const HAS_KUBECTL = (await kubectlVersion()) !== undefined;
if (SKIP) console.log(`e2e/peers skipped: ${SKIP}`);
// The Helm chart (bash tools/peers/setup.sh helm): when helm is there, the handler runs with the
// RBAC the chart renders, and the chart's objects go through the real API server's validation.
const HELM = locateHelm();
if (!SKIP && !HELM) {
  console.log(
    "e2e/peers: helm not built (bash tools/peers/setup.sh helm); RBAC from daemonset.yaml",
  );
}

/** The chart rendered with default values into `dir`, or daemonset.yaml without helm. */
async function rbacSource(dir: string): Promise<string> {
  if (!HELM) return MANIFEST_PATH;
  const out = await helmTemplate(HELM);
  assert.ok(out.ok, `helm template:\n${out.stderr}`);
  const path = `${dir}/chart.yaml`;
  await Deno.writeTextFile(path, out.stdout);
  return path;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

function events(sink: WebhookSink): (WebhookEvent & { at: number })[] {
  return sink.requests
    .filter((r: SinkRequest) => r.path === "/hook")
    .map((r) => ({ ...JSON.parse(r.body) as WebhookEvent, at: r.at }));
}

async function waitEvent(
  sink: WebhookSink,
  event: WebhookEvent["event"],
  timeoutMs: number,
): Promise<WebhookEvent & { at: number }> {
  return await waitFor(`a "${event}" webhook message`, () => {
    return events(sink).find((e) => e.event === event);
  }, {
    timeoutMs,
    describe: () => `webhook got: ${JSON.stringify(events(sink).map((e) => e.event))}`,
  });
}

/** A handler subprocess plus its IMDS poll counter (from its /metrics). */
interface RunningHandler extends HandlerProcess {
  polls(): Promise<number>;
  /** Its `/readyz` URL. */
  readyz: string;
}

/** What one scenario owns; everything is released by {@linkcode withScenario}. */
interface Scenario {
  name: string;
  namespace: string;
  node: string;
  sink: WebhookSink;
  /** The handler's own pod (a DaemonSet pod on the node, in the manifest's namespace). */
  ownPod: string;
  startAemm(options: AemmOptions): Promise<Aemm>;
  startHandler(aemm: Aemm, extraEnv?: Record<string, string>): RunningHandler;
  owner(kind: "ReplicaSet" | "DaemonSet", name: string, replicas?: number): Promise<Owner>;
  pods(owner: Owner, names: string[], node?: string): Promise<void>;
  getNode(): Promise<NodeState>;
  /** Set `status.nodeInfo.bootID` as a reboot would (kwok does not); waits until it reads back. */
  setBootId(id: string): Promise<void>;
}

interface Shared {
  peers: Peers;
  who: HandlerIdentity;
  kubeconfigPath: string;
  asg: AutoScaling;
  spareNode: string;
  handlerOwner: Owner;
}

/**
 * The node once the handler has cordoned it: the start message goes out beside the cordon, not
 * after it, so a test that has seen the message waits (bounded) for the cordon.
 */
async function cordonedNode(s: { getNode(): Promise<NodeState> }): Promise<NodeState> {
  return await waitFor("the node cordoned", async () => {
    const node = await s.getNode();
    return node.spec.unschedulable === true ? node : undefined;
  }, { timeoutMs: 15_000 });
}

/** Wait (bounded) until the node's annotation marks the maintenance event handled. */
async function eventDone(s: Scenario): Promise<void> {
  await waitFor("the event marked done on the node", async () => {
    return maintenanceRecord(await s.getNode())?.phase === "done";
  }, { timeoutMs: 15_000 });
}

/**
 * The machine reboots: the running handler and its AEMM stop, the node gets a new boot ID, and a
 * new handler sees the event completed; resolves with its "returned" message.
 */
async function rebootAndReturn(
  s: Scenario,
  running: Array<{ stop(): Promise<unknown> }>,
  notBefore: number,
): Promise<WebhookEvent & { at: number }> {
  for (const process of running) await process.stop();
  await s.setBootId("boot-after");
  const completed = await s.startAemm({ command: rebootEvent("completed", notBefore) });
  s.startHandler(completed);
  return await waitEvent(s.sink, "returned", 40_000);
}

async function withScenario(
  shared: Shared,
  name: string,
  fn: (s: Scenario) => Promise<void>,
): Promise<void> {
  const { peers, who } = shared;
  const api = peers.admin;
  const namespace = `e2e-${name}`;
  const node = `${name}-node`;
  await createNamespace(api, namespace);
  await createNode(api, node);
  const ownPod = `sth-${name}`;
  await createPod(api, who.namespace, { name: ownPod, node, owner: shared.handlerOwner });

  const sink = startWebhookSink();
  const aemms: Aemm[] = [];
  const handlers: HandlerProcess[] = [];
  let handlerCount = 0;
  const scenario: Scenario = {
    name,
    namespace,
    node,
    sink,
    ownPod,
    async startAemm(options) {
      const aemm = await peers.startAemm(options);
      aemms.push(aemm);
      return aemm;
    },
    startHandler(aemm, extraEnv = {}) {
      handlerCount++;
      const metricsPort = freePort();
      const handler = spawnHandler({
        kubeconfig: extraEnv.KUBECONFIG ?? shared.kubeconfigPath,
        logPath: `${LOG_DIR}/handler-${name}-${handlerCount}.log`,
        env: {
          NODE_NAME: node,
          POD_NAME: ownPod,
          NAMESPACE: who.namespace,
          CLUSTER: "e2e",
          KUBECONFIG: shared.kubeconfigPath,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: aemm.url,
          POLL_INTERVAL: "1",
          DETACH_ASG: "true",
          AWS_ENDPOINT_URL_AUTO_SCALING: peers.motoUrl,
          ...FAKE_AWS_ENV,
          WEBHOOK_URL: `${sink.url}/hook`,
          LOG_FORMAT: "json",
          METRICS_PORT: String(metricsPort),
          ...extraEnv,
        },
      });
      handlers.push(handler);
      const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
      return Object.assign(handler, {
        polls: async () => (await readMetric(metrics, "sth_imds_polls_total")) ?? 0,
        readyz: `http://127.0.0.1:${metricsPort}/readyz`,
      });
    },
    owner(kind, ownerName, replicas) {
      return createOwner(api, namespace, { kind, name: ownerName, replicas });
    },
    async pods(owner, names, onNode = node) {
      for (const pod of names) await createPod(api, namespace, { name: pod, node: onNode, owner });
      await waitPodsReady(api, namespace, names);
    },
    async getNode() {
      const state = await api.get<NodeState>(`/api/v1/nodes/${node}`);
      assert.ok(state, `node ${node} exists`);
      return state;
    },
    async setBootId(id) {
      await api.patch(`/api/v1/nodes/${node}/status`, { status: { nodeInfo: { bootID: id } } });
      await waitFor(`node ${node} bootID ${id}`, async () => {
        const n = await api.get<NodeState>(`/api/v1/nodes/${node}`);
        return n?.status?.nodeInfo?.bootID === id;
      }, { timeoutMs: 10_000 });
    },
  };
  try {
    await fn(scenario);
  } finally {
    for (const handler of handlers) await handler.stop();
    for (const aemm of aemms) await aemm.stop();
    await sink.close();
  }
}

Deno.test({
  name: "the handler against real peers (etcd, kube-apiserver, kube-controller-manager, kwok, " +
    "ec2-metadata-mock, moto)",
  ignore: SKIP !== undefined,
  async fn(t) {
    const found = locatePeers();
    assert.ok(found.ok);
    const peers = await startPeers(found.binaries, { logDir: LOG_DIR });
    const asg = createAutoScaling(peers.motoUrl);
    try {
      const api = peers.admin;
      const chartPath = await rbacSource(peers.workDir);
      const who = await applyRbac(api, chartPath);
      const token = await serviceAccountToken(api, who.namespace, {
        serviceAccount: who.serviceAccount,
      });
      const kubeconfigPath = `${peers.workDir}/handler.kubeconfig`;
      await peers.writeKubeconfig(kubeconfigPath, token);
      await t.step(
        "the manifest's ServiceAccount may cordon and evict but not delete pods, delete nodes " +
          "or read secrets",
        async () => {
          const may = (verb: string, resource: string, subresource?: string) =>
            canI(api, who, { verb, resource, subresource, namespace: "default" });
          assert.equal(await may("patch", "nodes"), true, "patch nodes");
          assert.equal(await may("list", "pods"), true, "list pods");
          assert.equal(await may("create", "pods", "eviction"), true, "create pods/eviction");
          assert.equal(await may("delete", "pods"), false, "delete pods");
          assert.equal(await may("delete", "nodes"), false, "delete nodes");
          assert.equal(await may("get", "secrets"), false, "get secrets");
          assert.equal(await may("update", "nodes", "status"), false, "update nodes/status");
          for (const role of who.clusterRoles) {
            const rules = (role.rules ?? []) as Record<string, string[]>[];
            for (const rule of rules) {
              for (const field of ["apiGroups", "resources", "verbs"]) {
                assert.ok(!rule[field]?.includes("*"), `no wildcard in ${field}: ${who.source}`);
              }
            }
          }
        },
      );

      await t.step({
        name: "kubectl apply --dry-run (client and server) accepts daemonset.yaml on a real API " +
          "server",
        ignore: !HAS_KUBECTL,
        fn: async () => {
          for (const mode of ["client", "server"]) {
            const out = await new Deno.Command("kubectl", {
              args: [
                "--kubeconfig",
                peers.adminKubeconfig,
                "apply",
                `--dry-run=${mode}`,
                "-f",
                MANIFEST_PATH,
              ],
              stdout: "piped",
              stderr: "piped",
            }).output();
            const text = new TextDecoder().decode(out.stdout) +
              new TextDecoder().decode(out.stderr);
            assert.equal(out.code, 0, `kubectl apply --dry-run=${mode}:\n${text}`);
            assert.match(text, /daemonset\.apps\/spot-termination-handler (created|configured)/);
          }
        },
      });

      await t.step({
        name: "helm template | kubectl apply --dry-run=server accepts the chart's objects on a " +
          "real API server, and the handler runs with the chart's RBAC",
        ignore: !HAS_KUBECTL || !HELM,
        fn: async () => {
          assert.equal(who.source, chartPath);
          assert.ok(who.clusterRoles.length > 0, "the chart renders a ClusterRole");
          const child = new Deno.Command("kubectl", {
            args: [
              "--kubeconfig",
              peers.adminKubeconfig,
              "apply",
              "--dry-run=server",
              "-f",
              "-",
            ],
            stdin: "piped",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const writer = child.stdin.getWriter();
          await writer.write(await Deno.readFile(chartPath));
          await writer.close();
          const out = await child.output();
          const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
          assert.equal(out.code, 0, `helm template | kubectl apply --dry-run=server:\n${text}`);
          assert.match(text, /daemonset\.apps\/spot-termination-handler (created|configured)/);
          assert.match(text, /clusterrole\.rbac\.authorization\.k8s\.io\/spot-termination-handler/);
        },
      });

      // After the dry run: the manifest's DaemonSet must not exist yet for the server-side one.
      const handlerOwner = await createOwner(api, who.namespace, {
        kind: "DaemonSet",
        name: "spot-termination-handler",
      });
      const spareNode = "spare-node";
      await createNode(api, spareNode);
      const shared: Shared = { peers, who, kubeconfigPath, asg, spareNode, handlerOwner };

      await t.step(
        "a spot interruption cordons and taints the node, evicts all but DaemonSet pods, " +
          "honours a PodDisruptionBudget until the deadline and detaches the instance",
        () =>
          withScenario(shared, "spot", async (s) => {
            const [instanceId] = await asg.createGroup("e2e-spot", 2);
            const web = await s.owner("ReplicaSet", "web", 2);
            const worker = await s.owner("ReplicaSet", "worker", 2);
            const agent = await s.owner("DaemonSet", "agent");
            await s.pods(web, ["web-0", "web-1"]);
            await s.pods(worker, ["worker-0", "worker-1"]);
            await s.pods(agent, ["agent-0"]);
            await createPdb(api, s.namespace, { app: "web", minAvailable: 1, expectAllowed: 1 });

            const aemm = await s.startAemm({
              instanceId,
              // The rebalance recommendation AEMM also serves is pushed an hour out.
              flags: ["--mock-delay-sec", "2", "--rebalance-delay-sec", "3600"],
              command: ["spot", "-a", "terminate", "-t", iso(Date.now() + 25_000)],
            });
            s.startHandler(aemm);

            const notice = await waitEvent(s.sink, "notice", 40_000);
            assert.equal(notice.kind, "spot-interruption");
            assert.equal(notice.action, "terminate");
            assert.equal(notice.node, s.node);
            assert.equal(notice.instanceId, instanceId);
            assert.deepEqual(notice.plan, ["cordon", "taint", "drain", "detach-asg"]);

            const node = await cordonedNode(s);
            assert.ok(
              node.spec.taints?.some((x) => x.key === TAINT_KEY && x.effect === "NoSchedule"),
              `taint ${TAINT_KEY} on the node: ${JSON.stringify(node.spec.taints)}`,
            );
            for (const pod of ["worker-0", "worker-1"]) {
              await waitPodGone(api, s.namespace, { name: pod, timeoutMs: 20_000 });
            }
            await waitFor("one web pod evicted", async () => {
              const left = await Promise.all(
                ["web-0", "web-1"].map((p) => getPod(api, s.namespace, p)),
              );
              return left.filter(Boolean).length === 1;
            }, { timeoutMs: 20_000 });

            const result = await waitEvent(s.sink, "result", 45_000);
            assert.ok(
              result.at >= Date.parse(result.deadline),
              "the PDB-blocked pod was retried until the deadline",
            );
            const r = result.result!;
            assert.equal(r.drained, true);
            const blocked = ["web-0", "web-1"].find((p) =>
              !r.evicted.includes(`${s.namespace}/${p}`)
            )!;
            assert.deepEqual(
              [...r.evicted].sort(),
              [
                `${s.namespace}/worker-0`,
                `${s.namespace}/worker-1`,
                ...["web-0", "web-1"]
                  .filter((p) => p !== blocked).map((p) => `${s.namespace}/${p}`),
              ].sort(),
            );
            assert.deepEqual(r.remaining.map((x) => x.pod), [`${s.namespace}/${blocked}`]);
            assert.match(r.remaining[0].reason, /PodDisruptionBudget/);
            assert.deepEqual(r.failed, []);
            const skipped = r.skipped.map((x) => x.pod);
            assert.ok(skipped.includes(`${s.namespace}/agent-0`), `agent skipped: ${skipped}`);

            const stillThere = await getPod(api, s.namespace, blocked);
            assert.ok(stillThere && !stillThere.metadata.deletionTimestamp, `${blocked} kept`);
            const ds = await getPod(api, s.namespace, "agent-0");
            assert.ok(ds && !ds.metadata.deletionTimestamp, "DaemonSet pod untouched");
            const own = await getPod(api, shared.who.namespace, s.ownPod);
            assert.ok(own && !own.metadata.deletionTimestamp, "the handler's own pod untouched");

            assert.equal(r.asg?.status, "detached");
            assert.equal(r.asg?.group, "e2e-spot");
            assert.equal(await asg.groupOf(instanceId), undefined, "instance left the group");
            assert.equal(await asg.desiredCapacity("e2e-spot"), 2, "desired capacity kept");

            const sent = events(s.sink).map((e) => e.event);
            assert.deepEqual(sent, ["notice", "result"], "one notice and one result");
          }),
      );

      await t.step(
        "a rebalance recommendation only notifies",
        () =>
          withScenario(shared, "rebalance", async (s) => {
            const [instanceId] = await asg.createGroup("e2e-rebalance", 2);
            const worker = await s.owner("ReplicaSet", "worker", 1);
            await s.pods(worker, ["worker-0"]);
            // The spot notice is pushed an hour out so only the recommendation is served. Its
            // time is fixed: by default AEMM stamps each answer with the time of the request.
            const aemm = await s.startAemm({
              instanceId,
              flags: ["--mock-delay-sec", "3600", "--rebalance-delay-sec", "2"],
              command: ["spot", "-r", iso(Date.now())],
            });
            const handler = s.startHandler(aemm);

            const notice = await waitEvent(s.sink, "notice", 40_000);
            assert.equal(notice.kind, "rebalance-recommendation");
            assert.deepEqual(notice.plan, []);
            const result = await waitEvent(s.sink, "result", 20_000);
            assert.equal(result.result?.drained, false);
            assert.equal(result.result?.asg, null);

            const node = await s.getNode();
            assert.notEqual(node.spec.unschedulable, true, "node not cordoned");
            assert.ok(!node.spec.taints?.some((x) => x.key === TAINT_KEY), "node not tainted");
            const pod = await getPod(api, s.namespace, "worker-0");
            assert.ok(pod && !pod.metadata.deletionTimestamp, "pod untouched");
            assert.equal(await asg.groupOf(instanceId), "e2e-rebalance", "instance still in group");
            // The same recommendation keeps being served: later polls must not repeat it.
            const seen = await handler.polls();
            await waitFor("three more IMDS polls", async () => await handler.polls() >= seen + 3, {
              timeoutMs: 15_000,
            });
            assert.deepEqual(events(s.sink).map((e) => e.event), ["notice", "result"]);
          }),
      );

      await t.step(
        "a scheduled maintenance event cordons and drains the node and keeps it in its group",
        () =>
          withScenario(shared, "maintenance", async (s) => {
            const [instanceId] = await asg.createGroup("e2e-maintenance", 2);
            const worker = await s.owner("ReplicaSet", "worker", 2);
            const agent = await s.owner("DaemonSet", "agent");
            await s.pods(worker, ["worker-0", "worker-1"]);
            await s.pods(agent, ["agent-0"]);
            const now = Date.now();
            const aemm = await s.startAemm({
              instanceId,
              command: [
                "events",
                "-o",
                "system-reboot",
                "-t",
                "active",
                "-b",
                iso(now + 30_000),
                "-a",
                iso(now + 3_600_000),
                "-l",
                iso(now + 7_200_000),
              ],
            });
            s.startHandler(aemm);

            const notice = await waitEvent(s.sink, "notice", 40_000);
            assert.equal(notice.kind, "scheduled-maintenance");
            assert.equal(notice.action, "system-reboot");
            assert.deepEqual(notice.plan, ["cordon", "taint", "drain"]);
            await cordonedNode(s);

            const result = await waitEvent(s.sink, "result", 40_000);
            const r = result.result!;
            assert.deepEqual(
              [...r.evicted].sort(),
              [`${s.namespace}/worker-0`, `${s.namespace}/worker-1`],
            );
            assert.deepEqual(r.remaining, []);
            assert.equal(r.asg, null);
            for (const pod of ["worker-0", "worker-1"]) {
              assert.equal(await getPod(api, s.namespace, pod), undefined, `${pod} gone`);
            }
            const ds = await getPod(api, s.namespace, "agent-0");
            assert.ok(ds && !ds.metadata.deletionTimestamp, "DaemonSet pod untouched");
            assert.equal(await asg.groupOf(instanceId), "e2e-maintenance", "still in its group");
          }),
      );

      await t.step(
        "a maintenance event hours ahead is announced at once with nothing cordoned, survives a " +
          "restart without a second announcement, and once canceled is never drained",
        () =>
          withScenario(shared, "announce", async (s) => {
            const worker = await s.owner("ReplicaSet", "worker", 1);
            await s.pods(worker, ["worker-0"]);
            const notBefore = Date.now() + 2 * 3_600_000;
            const active = await s.startAemm({ command: rebootEvent("active", notBefore) });
            const first = s.startHandler(active);
            const notice = await waitEvent(s.sink, "notice", 40_000);
            assert.equal(notice.kind, "scheduled-maintenance");
            assert.equal(notice.action, "system-reboot");
            assert.equal(
              notice.actionAt,
              new Date(notBefore - 15 * 60_000).toISOString()
                .replace(/\.\d{3}Z$/, ".000Z"),
            );
            await waitFor("the event marked announced on the node", async () => {
              return maintenanceRecord(await s.getNode())?.phase === "announced";
            }, { timeoutMs: 15_000 });
            const node = await s.getNode();
            assert.notEqual(node.spec.unschedulable, true, "not cordoned hours ahead");
            assert.ok(!node.spec.taints?.some((x) => x.key === TAINT_KEY), "not tainted");
            await first.stop();

            const again = s.startHandler(active);
            await waitForLog(
              again,
              (l) => l.msg === "maintenance announced; cordon and drain begin at its action time",
              "the restarted handler re-arming the event",
              30_000,
            );
            await again.stop();
            assert.deepEqual(events(s.sink).map((e) => e.event), ["notice"], "announced once");

            await active.stop();
            const canceled = await s.startAemm({ command: rebootEvent("canceled", notBefore) });
            s.startHandler(canceled);
            const told = await waitEvent(s.sink, "canceled", 40_000);
            assert.equal(told.state, "canceled");
            assert.equal(told.noticeId, notice.noticeId);
            await waitFor("the event marked canceled on the node", async () => {
              return maintenanceRecord(await s.getNode())?.phase === "canceled";
            }, { timeoutMs: 15_000 });
            const after = await s.getNode();
            assert.notEqual(after.spec.unschedulable, true, "never cordoned");
            const pod = await getPod(api, s.namespace, "worker-0");
            assert.ok(pod && !pod.metadata.deletionTimestamp, "never drained");
          }),
      );

      await t.step(
        "a maintenance event inside its lead cordons with the load-balancer label; completed " +
          "with a new boot ID, the node is uncordoned, untainted and unlabelled",
        () =>
          withScenario(shared, "return", async (s) => {
            const worker = await s.owner("ReplicaSet", "worker", 1);
            await s.pods(worker, ["worker-0"]);
            await s.setBootId("boot-before");
            const notBefore = Date.now() + 60_000;
            const active = await s.startAemm({ command: rebootEvent("active", notBefore) });
            const handler = s.startHandler(active);
            await waitEvent(s.sink, "result", 60_000);
            const drained = await s.getNode();
            assert.equal(drained.spec.unschedulable, true, "cordoned");
            assert.equal(drained.metadata.labels?.[LB_LABEL], "true", "LB exclusion label set");
            await eventDone(s);
            const record = maintenanceRecord(await s.getNode())!;
            assert.equal(record.bootId, "boot-before");
            assert.equal(record.lbLabelAdded, true);
            const back = await rebootAndReturn(s, [handler, active], notBefore);
            assert.equal(back.returned?.uncordoned, true);
            const node = await s.getNode();
            assert.notEqual(node.spec.unschedulable, true, "uncordoned");
            assert.ok(!node.spec.taints?.some((x) => x.key === TAINT_KEY), "taint removed");
            assert.equal(node.metadata.labels?.[LB_LABEL], undefined, "label removed");
            assert.equal(maintenanceRecord(node)?.phase, "returned");
          }),
      );

      await t.step(
        "a node someone else cordoned stays cordoned when it comes back",
        () =>
          withScenario(shared, "theirs", async (s) => {
            await s.setBootId("boot-before");
            await api.patch(`/api/v1/nodes/${s.node}`, { spec: { unschedulable: true } });
            const notBefore = Date.now() + 60_000;
            const active = await s.startAemm({ command: rebootEvent("active", notBefore) });
            const handler = s.startHandler(active);
            await waitEvent(s.sink, "result", 60_000);
            await eventDone(s);
            assert.equal(maintenanceRecord(await s.getNode())!.wasUnschedulable, true);
            const back = await rebootAndReturn(s, [handler, active], notBefore);
            assert.equal(back.returned?.uncordoned, false);
            const node = await s.getNode();
            assert.equal(node.spec.unschedulable, true, "left cordoned");
            assert.ok(!node.spec.taints?.some((x) => x.key === TAINT_KEY), "our taint removed");
          }),
      );

      await t.step(
        "a handler restarted mid-drain resumes without a second notice and completes the drain",
        () =>
          withScenario(shared, "restart", async (s) => {
            const [instanceId] = await asg.createGroup("e2e-restart", 2);
            const db = await s.owner("ReplicaSet", "db", 1);
            const worker = await s.owner("ReplicaSet", "worker", 1);
            await s.pods(db, ["db-0"]);
            await s.pods(worker, ["worker-0"]);
            await createPdb(api, s.namespace, { app: "db", minAvailable: 1, expectAllowed: 0 });

            const aemm = await s.startAemm({
              instanceId,
              flags: ["--rebalance-delay-sec", "3600"],
              command: ["spot", "-a", "terminate", "-t", iso(Date.now() + 90_000)],
            });
            const first = s.startHandler(aemm);
            await waitEvent(s.sink, "notice", 40_000);
            await waitPodGone(api, s.namespace, { name: "worker-0", timeoutMs: 20_000 });
            await waitForLog(first, (l) => l.msg === "draining node", "drain started", 10_000);
            // A crash, not a shutdown: nothing in flight gets to finish.
            await first.stop("SIGKILL");
            const annotation = (await s.getNode()).metadata.annotations
              ?.["spot-termination-handler/spot-interruption"];
            assert.match(annotation ?? "", /"phase":"started"/, "handling recorded as started");

            const second = s.startHandler(aemm);
            await waitForLog(
              second,
              (l) => l.msg === "resuming a notice a previous run started",
              "the restarted handler resuming",
              40_000,
            );
            assert.ok(await getPod(api, s.namespace, "db-0"), "db-0 still held by its PDB");
            // A replacement elsewhere lets the budget allow one disruption again.
            await s.pods(db, ["db-1"], shared.spareNode);
            await waitPodGone(api, s.namespace, { name: "db-0", timeoutMs: 30_000 });

            const result = await waitEvent(s.sink, "result", 30_000);
            const r = result.result!;
            assert.ok(r.evicted.includes(`${s.namespace}/db-0`), `db-0 evicted: ${r.evicted}`);
            assert.deepEqual(r.remaining, []);
            assert.ok(result.at < Date.parse(result.deadline), "drain completed before deadline");
            assert.ok(
              ["detached", "not-in-group"].includes(r.asg?.status ?? ""),
              `asg ${JSON.stringify(r.asg)}`,
            );
            assert.equal(await asg.groupOf(instanceId), undefined, "instance left the group");
            assert.deepEqual(
              events(s.sink).map((e) => e.event),
              ["notice", "result"],
              "no second notice after the restart",
            );
            await waitFor("the notice marked done on the node", async () => {
              const a = (await s.getNode()).metadata.annotations
                ?.["spot-termination-handler/spot-interruption"];
              return a?.includes('"phase":"done"');
            }, { timeoutMs: 15_000 });
          }),
      );

      await t.step(
        "with IMDSv2 required the handler still sees a spot interruption",
        () =>
          withScenario(shared, "imdsv2", async (s) => {
            const [instanceId] = await asg.createGroup("e2e-imdsv2", 2);
            const worker = await s.owner("ReplicaSet", "worker", 1);
            await s.pods(worker, ["worker-0"]);
            const aemm = await s.startAemm({
              instanceId,
              imdsv2: true,
              flags: ["--rebalance-delay-sec", "3600"],
              command: ["spot", "-a", "terminate", "-t", iso(Date.now() + 60_000)],
            });
            const v1 = await fetch(`${aemm.url}/latest/meta-data/spot/instance-action`);
            await v1.body?.cancel();
            assert.equal(v1.status, 401, "AEMM refuses IMDSv1 requests");
            s.startHandler(aemm);

            const notice = await waitEvent(s.sink, "notice", 40_000);
            assert.equal(notice.kind, "spot-interruption");
            assert.equal(notice.instanceId, instanceId);
            await cordonedNode(s);
            const result = await waitEvent(s.sink, "result", 40_000);
            assert.deepEqual(result.result?.evicted, [`${s.namespace}/worker-0`]);
            assert.equal(result.result?.asg?.status, "detached");
            assert.equal(await getPod(api, s.namespace, "worker-0"), undefined, "worker-0 gone");
          }),
      );
      await t.step(
        "a ClusterRole without pods/eviction: /readyz 503 and --check name the verb at start-up; " +
          "at a notice the start message goes out at once and the result says forbidden",
        () =>
          withScenario(shared, "noevict", async (s) => {
            const narrowed = await narrowedRbac(api, "noevict", (resource) =>
              resource !== "pods/eviction");
            const narrowKubeconfig = `${peers.workDir}/noevict.kubeconfig`;
            await peers.writeKubeconfig(narrowKubeconfig, narrowed);
            const [instanceId] = await asg.createGroup("e2e-noevict", 2);
            const worker = await s.owner("ReplicaSet", "worker", 1);
            await s.pods(worker, ["worker-0"]);
            const aemm = await s.startAemm({
              instanceId,
              flags: ["--mock-delay-sec", "8", "--rebalance-delay-sec", "3600"],
              command: ["spot", "-a", "terminate", "-t", iso(Date.now() + 60_000)],
            });

            const check = spawnHandler({
              kubeconfig: narrowKubeconfig,
              logPath: `${LOG_DIR}/handler-noevict-check.log`,
              args: ["--check"],
              env: {
                NODE_NAME: s.node,
                KUBECONFIG: narrowKubeconfig,
                AWS_EC2_METADATA_SERVICE_ENDPOINT: aemm.url,
              },
            });
            let timer: ReturnType<typeof setTimeout> | undefined;
            const status = await Promise.race([
              check.status,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() =>
                  reject(new Error("--check still running after 30 s")), 30_000);
              }),
            ]).finally(() => {
              clearTimeout(timer);
              return check.stop();
            });
            const text = check.lines.join("\n");
            assert.equal(status.code, 1, text);
            assert.match(text, /FAIL {2}rbac: not granted: create pods\/eviction/);
            assert.match(text, /ok {4}kubernetes-api/);

            const handler = s.startHandler(aemm, { KUBECONFIG: narrowKubeconfig });
            await waitFor("/readyz 503 naming rbac", async () => {
              const res = await fetch(handler.readyz).catch(() =>
                undefined
              );
              const body = await res?.text();
              return res?.status === 503 && /rbac/.test(body ?? "") ? body : undefined;
            }, { timeoutMs: 20_000 });

            const notice = await waitEvent(s.sink, "notice", 40_000);
            assert.equal(notice.kind, "spot-interruption");
            const result = await waitEvent(s.sink, "result", 40_000);
            const r = result.result!;
            assert.equal(r.drain?.status, "partial", JSON.stringify(r.drain));
            assert.deepEqual(r.evicted, []);
            assert.ok(
              r.failed.length === 1 && /403|forbidden/i.test(r.failed[0].reason),
              JSON.stringify(r.failed),
            );
            assert.ok(result.at < Date.parse(result.deadline), "not held until the deadline");
            await waitForLog(
              handler,
              (l) =>
                l.msg === "evict pods failed for good; not retrying",
              "one error line naming the grant",
              5_000,
            );
            assert.ok(await getPod(api, s.namespace, "worker-0"), "worker-0 was not evicted");
          }),
      );
    } finally {
      asg.close();
      await peers.stop();
    }
  },
});

/**
 * A ServiceAccount bound to a copy of the manifest's ClusterRole with some resources removed;
 * resolves with its token.
 */
async function narrowedRbac(
  api: Peers["admin"],
  suffix: string,
  keep: (resource: string) => boolean,
): Promise<string> {
  const docs = parseAllDocuments(await Deno.readTextFile(MANIFEST_PATH))
    .map((d) => d.toJSON() as Record<string, unknown> | null);
  const role = docs.find((d) => d?.kind === "ClusterRole") as {
    rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  };
  const name = `spot-termination-handler-${suffix}`;
  const rbac = "/apis/rbac.authorization.k8s.io/v1";
  await api.ensure(`/api/v1/namespaces/kube-system/serviceaccounts`, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: "kube-system" },
  });
  await api.ensure(`${rbac}/clusterroles`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name },
    rules: role.rules
      .map((r) => ({ ...r, resources: r.resources.filter(keep) }))
      .filter((r) => r.resources.length > 0),
  });
  await api.ensure(`${rbac}/clusterrolebindings`, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: [{ kind: "ServiceAccount", name, namespace: "kube-system" }],
  });
  return await serviceAccountToken(api, "kube-system", { serviceAccount: name });
}
