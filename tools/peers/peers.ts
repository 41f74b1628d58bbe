/**
 * Starts the real peers of the end-to-end suite on 127.0.0.1 with free ports: etcd,
 * kube-apiserver (RBAC, token auth, service-account keys), kube-controller-manager (disruption
 * controller, for PodDisruptionBudget status), kwok (simulated kubelet), moto (Auto Scaling API)
 * and, per scenario, amazon-ec2-metadata-mock (IMDS). Binaries come from `$PEERS_DIR/bin`, built by
 * `tools/peers/setup.sh`.
 *
 * Run it directly to get a cluster for manual work; Ctrl-C stops everything:
 * `deno run -A tools/peers/peers.ts`
 *
 * @module
 */

import { createKubeApi, type KubeApi } from "./kube_api.ts";
import { noArguments } from "../cli.ts";

/** Paths of everything {@linkcode startPeers} runs. */
export interface PeerBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kwok: string;
  aemm: string;
  motoServer: string;
  /** kwok Stage objects (node initialize/heartbeat, pod ready/complete/delete). */
  kwokStages: string;
}

/** Result of {@linkcode locatePeers}: the binaries, or what is missing. */
export type PeerLookup =
  | { ok: true; binaries: PeerBinaries }
  | { ok: false; missing: string[] };

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Where setup.sh puts binaries, logs and the venv: `$PEERS_DIR`, else a per-user cache outside the
 * checkout, so that a fresh clone (CI's) finds peers built earlier on the same machine.
 */
export const DEFAULT_PEERS_DIR: string = Deno.env.get("PEERS_DIR") ??
  `${
    Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME") ?? REPO_ROOT}/.cache`
  }/spot-termination-handler/peers`;

/** The annotation kwok is told to look for: only nodes carrying it are simulated. */
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";

/**
 * Find the peer binaries under `dir/bin` without running anything.
 *
 * @example
 * ```ts
 * const found = locatePeers();
 * if (!found.ok) console.log(`missing: ${found.missing.join(", ")}`);
 * ```
 */
export function locatePeers(dir: string = DEFAULT_PEERS_DIR): PeerLookup {
  const bin = `${dir}/bin`;
  const binaries: PeerBinaries = {
    etcd: `${bin}/etcd`,
    kubeApiserver: `${bin}/kube-apiserver`,
    kubeControllerManager: `${bin}/kube-controller-manager`,
    kwok: `${bin}/kwok`,
    aemm: `${bin}/ec2-metadata-mock`,
    motoServer: `${bin}/moto_server`,
    kwokStages: `${dir}/share/kwok-stages.yaml`,
  };
  const missing = Object.values(binaries).filter((path) => {
    try {
      return !Deno.statSync(path).isFile;
    } catch {
      return true;
    }
  });
  return missing.length ? { ok: false, missing } : { ok: true, binaries };
}

/** Options of {@linkcode startPeers}. */
export interface StartPeersOptions {
  /** Where each peer's output goes, one `<name>.log` each; emptied first. */
  logDir?: string;
  /** Progress lines ("etcd ready on …"); silent by default. */
  log?: (line: string) => void;
  /** Bound for each peer to become ready; defaults to 60 s. */
  readyTimeoutMs?: number;
}

/** Options of {@linkcode Peers.startAemm}. */
export interface AemmOptions {
  /** AEMM sub-command and its flags, e.g. `["spot", "-a", "terminate", "-t", time]`. */
  command: string[];
  /** Instance id AEMM serves (to match an instance moto created). */
  instanceId?: string;
  /** Require IMDSv2 session tokens (`--imdsv2`). */
  imdsv2?: boolean;
  /** Extra global flags, e.g. `["--rebalance-delay-sec", "0"]`. */
  flags?: string[];
}

/** A running amazon-ec2-metadata-mock. */
export interface Aemm {
  /** Base URL for `AWS_EC2_METADATA_SERVICE_ENDPOINT`. */
  url: string;
  stop(): Promise<void>;
}

/** The running peers. */
export interface Peers {
  /** `https://127.0.0.1:<port>` of kube-apiserver. */
  apiUrl: string;
  /** PEM of the CA that signed the serving certificate. */
  caPem: string;
  /** Bearer token of a `system:masters` user. */
  adminToken: string;
  /** kubeconfig for the admin token (used by the controller manager and kwok). */
  adminKubeconfig: string;
  /** `http://127.0.0.1:<port>` of moto_server. */
  motoUrl: string;
  /** Scratch directory of this run (certificates, etcd data); removed by `stop`. */
  workDir: string;
  /** An admin client of the API server; closed by `stop`. */
  admin: KubeApi;
  /** Write a kubeconfig using `token` (e.g. a ServiceAccount's) to `path`. */
  writeKubeconfig(path: string, token: string): Promise<void>;
  /** Start an AEMM on a free port; stopped by its own `stop` or by `Peers.stop`. */
  startAemm(options: AemmOptions): Promise<Aemm>;
  /** Stop every process started here and remove the scratch directory. */
  stop(): Promise<void>;
}

/** A child process whose output goes to a log file; see {@linkcode spawnLogged}. */
interface LoggedProcess {
  name: string;
  logPath: string;
  /** Set once the process is gone. */
  exited(): boolean;
  stop(): Promise<void>;
}

// Runs the peer in the background with its output appended to a file, and stops it when the
// Deno process that started it goes away, so a crashed or interrupted suite leaves no
// apiserver or etcd behind on a shared machine.
const SUPERVISOR = `
"$@" >>"$PEER_LOG" 2>&1 &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$PEER_PARENT" 2>/dev/null; then
    kill -TERM "$child"
    wait "$child"
    exit 0
  fi
  sleep 1 &
  wait $!
done
wait "$child"
`;

function spawnLogged(
  name: string,
  argv: string[],
  options: { logDir: string; env?: Record<string, string>; cwd?: string },
): LoggedProcess {
  const logPath = `${options.logDir}/${name}.log`;
  const child = new Deno.Command("bash", {
    args: ["-c", SUPERVISOR, name, ...argv],
    env: { ...options.env, PEER_LOG: logPath, PEER_PARENT: String(Deno.pid) },
    cwd: options.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let gone = false;
  const status = child.status.then(() => {
    gone = true;
  });
  return {
    name,
    logPath,
    exited: () => gone,
    async stop(): Promise<void> {
      if (gone) return await status;
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited between the check and the kill.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), 15_000);
      });
      const late = await Promise.race([status.then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Gone meanwhile.
        }
        await status;
      }
    },
  };
}

/**
 * Reserve a free loopback port. The small race until the peer binds it is acceptable here.
 *
 * @example
 * ```ts
 * const port = freePort(); // e.g. 40213
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function tail(path: string, lines = 15): string {
  try {
    return Deno.readTextFileSync(path).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Poll `probe` until it returns true, the process dies or the bound passes. */
async function waitReady(
  proc: LoggedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (proc.exited()) {
      throw new Error(
        `${proc.name} exited during start-up; ${proc.logPath}:\n${tail(proc.logPath)}`,
      );
    }
    try {
      if (await probe()) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${proc.name} not ready after ${timeoutMs} ms; ${proc.logPath}:\n${tail(proc.logPath)}`,
  );
}

async function run(argv: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${argv.join(" ")} failed (exit ${out.code}): ${err}`);
  }
}

/** CA, API serving certificate (SAN IP 127.0.0.1) and service-account key pair, via openssl. */
async function makeCertificates(dir: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/serving.ext`,
    [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  const steps = [
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "2",
      "-subj",
      "/CN=e2e-peers-ca",
    ],
    [
      "openssl",
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "apiserver.key",
      "-out",
      "apiserver.csr",
      "-subj",
      "/CN=kube-apiserver",
    ],
    [
      "openssl",
      "x509",
      "-req",
      "-in",
      "apiserver.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "apiserver.crt",
      "-days",
      "2",
      "-extfile",
      "serving.ext",
    ],
    ["openssl", "genrsa", "-out", "sa.key", "2048"],
    ["openssl", "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
  ];
  for (const argv of steps) await run(argv, dir);
}

function kubeconfig(server: string, caPem: string, token: string): string {
  // JSON is valid YAML, and both client-go and @kubernetes/client-node read it.
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "e2e",
        cluster: { server, "certificate-authority-data": btoa(caPem) },
      }],
      users: [{ name: "e2e", user: { token } }],
      contexts: [{ name: "e2e", context: { cluster: "e2e", user: "e2e" } }],
      "current-context": "e2e",
    },
    null,
    2,
  );
}

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Start etcd, kube-apiserver, kube-controller-manager, kwok and moto; resolve once each is ready.
 * On any failure, whatever was started is stopped before the error is thrown.
 *
 * @example
 * ```ts
 * const found = locatePeers();
 * if (found.ok) {
 *   const peers = await startPeers(found.binaries, { log: console.log });
 *   try {
 *     console.log(await peers.admin.get("/api/v1/namespaces/default"));
 *   } finally {
 *     await peers.stop();
 *   }
 * }
 * ```
 */
export async function startPeers(
  binaries: PeerBinaries,
  options: StartPeersOptions = {},
): Promise<Peers> {
  const log = options.log ?? (() => {});
  const readyMs = options.readyTimeoutMs ?? 60_000;
  const logDir = options.logDir ?? `${DEFAULT_PEERS_DIR}/logs/run`;
  await Deno.remove(logDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(logDir, { recursive: true });
  const workDir = await Deno.makeTempDir({ prefix: "e2e-peers-" });
  const procs: LoggedProcess[] = [];
  const aemms = new Set<Aemm>();
  let admin: KubeApi | undefined;
  let stopped = false;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await Promise.all([...aemms].map((a) => a.stop()));
    admin?.close();
    // Clients first, then the API server, then its storage.
    for (const proc of procs.reverse()) await proc.stop();
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }

  try {
    const ok = async (url: string) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      return res.ok;
    };

    await makeCertificates(workDir);
    const caPem = await Deno.readTextFile(`${workDir}/ca.crt`);
    const adminToken = randomToken();
    await Deno.writeTextFile(
      `${workDir}/tokens.csv`,
      `${adminToken},e2e-admin,e2e-admin-uid,"system:masters"\n`,
    );

    const etcdPort = freePort();
    const etcdPeerPort = freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = spawnLogged("etcd", [
      binaries.etcd,
      "--name=e2e",
      `--data-dir=${workDir}/etcd`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=e2e=http://127.0.0.1:${etcdPeerPort}`,
      "--log-level=warn",
      // A throwaway store: no need to pay for fsync on a shared disk.
      "--unsafe-no-fsync",
    ], { logDir });
    procs.push(etcd);

    const motoPort = freePort();
    const motoUrl = `http://127.0.0.1:${motoPort}`;
    const moto = spawnLogged(
      "moto",
      [binaries.motoServer, "-H", "127.0.0.1", "-p", String(motoPort)],
      { logDir, env: { HOME: workDir } },
    );
    procs.push(moto);

    await waitReady(etcd, () => ok(`${etcdUrl}/health`), readyMs);
    log(`etcd ready on ${etcdUrl}`);

    const apiPort = freePort();
    const apiUrl = `https://127.0.0.1:${apiPort}`;
    const apiserver = spawnLogged("kube-apiserver", [
      binaries.kubeApiserver,
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${workDir}/apiserver-certs`,
      `--tls-cert-file=${workDir}/apiserver.crt`,
      `--tls-private-key-file=${workDir}/apiserver.key`,
      `--client-ca-file=${workDir}/ca.crt`,
      `--token-auth-file=${workDir}/tokens.csv`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${workDir}/sa.pub`,
      `--service-account-signing-key-file=${workDir}/sa.key`,
      "--service-cluster-ip-range=10.96.0.0/16",
      // No ServiceAccount controller runs, so pods must not need a default ServiceAccount.
      "--disable-admission-plugins=ServiceAccount",
      // A loopback advertise address is refused by the endpoints reconciler; nothing needs it.
      "--endpoint-reconciler-type=none",
      "--profiling=false",
    ], { logDir });
    procs.push(apiserver);
    const apiClient = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      await waitReady(apiserver, async () => {
        const res = await fetch(`${apiUrl}/readyz`, {
          headers: { authorization: `Bearer ${adminToken}` },
          client: apiClient,
          signal: AbortSignal.timeout(2_000),
        });
        await res.body?.cancel();
        return res.ok;
      }, readyMs);
    } finally {
      apiClient.close();
    }
    log(`kube-apiserver ready on ${apiUrl}`);
    admin = createKubeApi(apiUrl, adminToken, { caPem });

    const adminKubeconfig = `${workDir}/admin.kubeconfig`;
    await Deno.writeTextFile(adminKubeconfig, kubeconfig(apiUrl, caPem, adminToken));

    const kcm = spawnLogged("kube-controller-manager", [
      binaries.kubeControllerManager,
      `--kubeconfig=${adminKubeconfig}`,
      // Only what PodDisruptionBudget status needs; nothing else acts on the test objects.
      "--controllers=disruption",
      "--leader-elect=false",
      "--secure-port=0",
    ], { logDir });
    procs.push(kcm);

    const kwokPort = freePort();
    const kwok = spawnLogged("kwok", [
      binaries.kwok,
      `--kubeconfig=${adminKubeconfig}`,
      `--config=${binaries.kwokStages}`,
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      `--server-address=127.0.0.1:${kwokPort}`,
      "--node-ip=127.0.0.1",
    ], { logDir, env: { HOME: workDir } });
    procs.push(kwok);

    await Promise.all([
      waitReady(moto, () => ok(`${motoUrl}/moto-api/`), readyMs).then(() =>
        log(`moto ready on ${motoUrl}`)
      ),
      waitReady(kwok, () => ok(`http://127.0.0.1:${kwokPort}/healthz`), readyMs).then(() =>
        log(`kwok ready (managing nodes annotated ${KWOK_NODE_ANNOTATION}=fake)`)
      ),
      // The controller manager serves nothing here; it is ready once it keeps running.
      waitReady(kcm, () => Promise.resolve(true), readyMs).then(() =>
        log("kube-controller-manager started (disruption controller)")
      ),
    ]);

    const adminClient = admin;
    return {
      apiUrl,
      caPem,
      adminToken,
      adminKubeconfig,
      motoUrl,
      workDir,
      admin: adminClient,
      async writeKubeconfig(path: string, token: string): Promise<void> {
        await Deno.writeTextFile(path, kubeconfig(apiUrl, caPem, token), { mode: 0o600 });
      },
      async startAemm(aemmOptions: AemmOptions): Promise<Aemm> {
        const port = freePort();
        const home = await Deno.makeTempDir({ dir: workDir, prefix: "aemm-" });
        const config = { metadata: { values: {} as Record<string, string> } };
        if (aemmOptions.instanceId) config.metadata.values["instance-id"] = aemmOptions.instanceId;
        await Deno.writeTextFile(`${home}/aemm-config.json`, JSON.stringify(config));
        const proc = spawnLogged(`aemm-${port}`, [
          binaries.aemm,
          "-n",
          "127.0.0.1",
          "-p",
          String(port),
          "-c",
          `${home}/aemm-config.json`,
          ...(aemmOptions.imdsv2 ? ["--imdsv2"] : []),
          ...(aemmOptions.flags ?? []),
          ...aemmOptions.command,
        ], { logDir, env: { HOME: home }, cwd: home });
        const url = `http://127.0.0.1:${port}`;
        const aemm: Aemm = {
          url,
          async stop() {
            aemms.delete(aemm);
            await proc.stop();
          },
        };
        aemms.add(aemm);
        try {
          // Any answer will do: with --imdsv2 a token-less GET is a 401.
          await waitReady(proc, async () => {
            const res = await fetch(`${url}/latest/meta-data/instance-id`, {
              signal: AbortSignal.timeout(2_000),
            });
            await res.body?.cancel();
            return true;
          }, readyMs);
        } catch (err) {
          await aemm.stop();
          throw err;
        }
        log(`aemm ready on ${url}: ${aemmOptions.command.join(" ")}`);
        return aemm;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

if (import.meta.main) {
  noArguments("peers.ts", Deno.args);
  const found = locatePeers();
  if (!found.ok) {
    console.error(`missing ${found.missing.join(", ")}: run tools/peers/setup.sh first`);
    Deno.exit(1);
  }
  const peers = await startPeers(found.binaries, { log: (line) => console.log(line) });
  console.log(`admin kubeconfig: ${peers.adminKubeconfig}`);
  console.log(`logs: ${DEFAULT_PEERS_DIR}/logs/run/`);
  console.log("Ctrl-C stops everything.");
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
  });
  await peers.stop();
  console.log("stopped");
}
