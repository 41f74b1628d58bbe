/**
 * Entry point: reads the configuration, wires the real implementations together and runs the
 * poll loop until SIGTERM. Everything with behaviour lives in lib/; `main` reads as its steps in
 * the order the data flows: command line, configuration, banner, adapters, then either a one-shot
 * command or the workers (handler, node return, preflight, poll loop, listener), then shutdown.
 *
 * @module
 */

import { type Config, fileReadable, loadConfig, redactConfig } from "./lib/config.ts";
import { helpText } from "./lib/config_variables.ts";
import { createAsgDetacher, preloadAsgSdk } from "./lib/asg.ts";
import { createDrainer } from "./lib/drain.ts";
import { createHandler } from "./lib/handler.ts";
import { createImds } from "./lib/imds.ts";
import { identityWithUrls } from "./lib/identity_urls.ts";
import { createKube } from "./lib/kube_client.ts";
import { connectKube } from "./lib/kube_http.ts";
import type { Kube } from "./lib/kube.ts";
import { runCheck, runTestNotification } from "./lib/commands.ts";
import { createPreflight, PREFLIGHT_INTERVAL_MS } from "./lib/preflight.ts";
import type { AwsCredentialEnv } from "./lib/preflight_aws.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { createMetrics, type Metrics } from "./lib/metrics.ts";
import { createMonitor } from "./lib/monitor.ts";
import { createScheduler } from "./lib/maintenance.ts";
import { createNodeReturn } from "./lib/node_return.ts";
import { createNotifier } from "./lib/notify.ts";
import { cached, sleep as realSleep } from "./lib/_async.ts";
import { redactUrl } from "./lib/redact.ts";
import { keepListening } from "./lib/server.ts";
import { loadTemplateEngine, usesWebhookTemplate } from "./lib/webhook_template.ts";
// deno.json's "version" is the one place the version is written; the image tag in
// daemonset.yaml and the chart follow it (deno task chart, tests/version_test.ts).
import denoJson from "./deno.json" with { type: "json" };

/** The version printed in the banner: deno.json's "version". */
export const VERSION: string = denoJson.version;

/** Run the handler; resolves with the process exit code. */
export async function main(args: string[], env: Record<string, string>): Promise<number> {
  const request = parseCommandLine(args);
  if ("exitCode" in request) return request.exitCode;
  const { command } = request;
  const loaded = await loadConfiguration(env);
  if (!loaded) return 2;
  const controller = new AbortController();
  const w = wiring(loaded.config, env, controller.signal, command);
  if (!command) announce(w, loaded.warnings);

  const stop = () => controller.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  const adapters = buildAdapters(w);
  if (command) return await runCommand(command, w, adapters);
  const workers = startWorkers(w, adapters);
  await workers.monitor.run(controller.signal);
  await shutdown(w, workers);
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  w.logger.info("stopped");
  return 0;
}

/** The two one-shot commands; without one, the handler runs until SIGTERM. */
type Command = "--check" | "--test-notification";

/** `--help` (exit 0), a command, or an unknown argument (exit 2): configuration is by variables. */
function parseCommandLine(args: string[]): { command?: Command } | { exitCode: number } {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText());
    return { exitCode: 0 };
  }
  const command = args[0] === "--check" || args[0] === "--test-notification" ? args[0] : undefined;
  if (args.length > (command ? 1 : 0)) {
    console.error(
      `unknown argument ${
        JSON.stringify(args[command ? 1 : 0])
      }; configure with environment variables, see --help`,
    );
    return { exitCode: 2 };
  }
  return { command };
}

/** The configuration, or `undefined` after printing every problem (the caller exits 2). */
async function loadConfiguration(
  env: Record<string, string>,
): Promise<{ config: Config; warnings: string[] } | undefined> {
  // Only a configured webhook template loads its engine: idle memory is every node's cost.
  if (usesWebhookTemplate(env)) await loadTemplateEngine();
  const { config, errors, warnings } = loadConfig(env, { readable: fileReadable });
  if (!config) {
    for (const line of errors) console.error(`config error: ${line}`);
    console.error(`${errors.length} configuration problem(s); see --help`);
    return undefined;
  }
  return { config, warnings };
}

/** What every step shares: the configuration, the environment, the log, the metrics, the stop. */
interface Wiring {
  config: Config;
  env: Record<string, string>;
  logger: Logger;
  metrics: Metrics;
  /** Aborted by SIGTERM or SIGINT. */
  signal: AbortSignal;
}

function wiring(
  config: Config,
  env: Record<string, string>,
  signal: AbortSignal,
  command?: Command,
): Wiring {
  // The commands print plain lines; only problems of the wiring itself go to the log.
  const logger = createLogger({
    format: config.logFormat,
    level: command ? "error" : config.logLevel,
  });
  return { config, env, logger, metrics: createMetrics(), signal };
}

/** The start-up banner: version, what a notice will do, what is polled, the configuration. */
function announce({ config, logger }: Wiring, warnings: string[]): void {
  const node = config.nodeName ?? `(node of pod ${config.namespace}/${config.podName})`;
  logger.info(
    `spot-termination-handler ${VERSION} starting${config.dryRun ? " in DRY RUN mode" : ""}`,
  );
  logger.info(`\`kubectl drain ${node}\` will be executed once a termination notice is made.`);
  logger.info(
    `Polling ${
      redactUrl(
        config.noticeUrl ?? `${config.imdsEndpoint}/latest/meta-data/spot/instance-action`,
      )
    } every ${config.pollIntervalMs / 1000} second(s)`,
  );
  logger.info("configuration", redactConfig(config));
  for (const w of warnings) logger.warn(w);
}

/** The real implementations behind the handler's interfaces; the heavy clients load lazily. */
function buildAdapters(w: Wiring) {
  const { config, env, logger, metrics } = w;
  const imds = createImds({
    endpoint: config.imdsEndpoint,
    v1Fallback: !config.imdsV1Disabled,
    logger,
  });
  const identity = identityWithUrls(imds, config.identityUrls);
  const notifier = createNotifier(config.notifierEnv, { logger, metrics });
  if (notifier.targets.length > 0) logger.info("notifications on", { targets: notifier.targets });

  // One client for everything: plain fetch. @kubernetes/client-node is imported only when the
  // kubeconfig needs what the small reader does not do (exec plugins, ...).
  const fullClient = () => createKube({ kubeconfigPath: config.kubeconfigPath, logger });
  const kube = cached((): Promise<Kube> =>
    connectKube({
      kubeconfigPath: config.kubeconfigPath,
      serviceHost: env.KUBERNETES_SERVICE_HOST,
      servicePort: env.KUBERNETES_SERVICE_PORT,
      fallback: fullClient,
    })
  );
  const asg = config.detachAsg
    ? (region: string) =>
      createAsgDetacher({ region, endpoint: config.asgEndpoint, logger, metrics })
    : undefined;
  const ownPod = config.podName && config.namespace
    ? { name: config.podName, namespace: config.namespace }
    : undefined;
  const preflight = createPreflight({
    kubeCore: kube,
    imds: { get: (path, options) => imds.get(path, options), identity },
    logger,
    metrics,
  }, {
    nodeName: config.nodeName,
    ownPod,
    imdsV1Disabled: config.imdsV1Disabled,
    detachAsg: config.detachAsg,
    awsEnv: awsCredentialEnv(env),
    kubeconfigPath: config.kubeconfigPath,
  });
  return { imds, identity, notifier, kube, asg, ownPod, preflight };
}

type Adapters = ReturnType<typeof buildAdapters>;

/** `--check` or `--test-notification`: plain lines on stdout, then the exit code. */
async function runCommand(command: Command, { config }: Wiring, a: Adapters): Promise<number> {
  const { asg, identity } = a;
  if (command === "--check") {
    return await runCheck({
      preflight: a.preflight,
      print: (line) => console.log(line),
      asg: asg
        ? async () => {
          const id = await identity();
          return { detacher: asg(config.awsRegion ?? id.region), identity: id };
        }
        : undefined,
    });
  }
  const id = await identity().catch(() => undefined);
  return await runTestNotification({
    notifier: a.notifier,
    print: (line) => console.log(line),
    now: new Date(),
    context: {
      cluster: config.cluster,
      node: config.nodeName ?? "unknown",
      instanceId: id?.instanceId ?? "unknown",
      instanceType: id?.instanceType ?? "unknown",
      availabilityZone: id?.availabilityZone ?? "unknown",
      region: id?.region,
    },
  });
}

/** Handler, node return, preflight, poll loop and listener, in the order a notice flows. */
function startWorkers(w: Wiring, a: Adapters) {
  const { handler, scheduler, nodeReturn } = createWorkers(w, a);
  const { logger, signal } = w;
  const returning = nodeReturn.repeat(signal, realSleep, PREFLIGHT_INTERVAL_MS);

  // The preflight logs one line per check and feeds /readyz; it never delays the polling.
  const checked = a.preflight.run().catch((error) =>
    logger.warn("preflight could not run", { error: String(error) })
  ).then(() => a.preflight.repeat(signal, realSleep));
  if (!w.config.nodeName) {
    // Look the node up now so the handler knows it before a notice.
    handler.nodeName().then(
      (name) => logger.info("node found from own pod", { node: name }),
      () => {},
    );
  }
  a.identity({ signal }).then(
    (id) => logger.info("instance identity", { ...id }),
    (error) => logger.warn("instance identity not available yet", { error: String(error) }),
  );

  const monitor = createPoller(w, a.imds, handler, nodeReturn);
  const server = startHealth(w, monitor, a.preflight);
  return { scheduler, handler, returning, checked, monitor, server };
}

/** The notice handler and the node's return, sharing one maintenance scheduler. */
function createWorkers({ config, logger, metrics, signal }: Wiring, a: Adapters) {
  const scheduler = createScheduler();
  const handler = createHandler({
    scheduler,
    // One client serves both: the node's requests and the drain's.
    kubeCore: a.kube,
    kube: a.kube,
    drainer: (k) => createDrainer(k, { logger, metrics }),
    asg: a.asg,
    warmAsg: preloadAsgSdk,
    notifier: a.notifier,
    identity: () => a.identity({ signal }),
    logger,
    metrics,
  }, {
    nodeName: config.nodeName,
    ownPod: a.ownPod,
    cluster: config.cluster,
    dryRun: config.dryRun,
    actions: config.actions,
    detachAsg: config.detachAsg,
    excludeFromLoadBalancers: config.excludeFromLoadBalancers,
    maintenanceLeadMs: config.maintenanceLeadMs,
    gracePeriodSeconds: config.gracePeriodSeconds,
    awsRegion: config.awsRegion,
    kubeconfigPath: config.kubeconfigPath,
  });

  // A node the handler cordoned comes back after a reboot, a spot stop/start or a finished
  // maintenance event: checked at start-up, every preflight interval and on each finished event.
  const nodeReturn = createNodeReturn({
    kubeCore: a.kube,
    nodeName: () => handler.nodeName(),
    identity: () => a.identity({ signal }),
    notifier: a.notifier,
    logger,
    busy: () => handler.busy(),
    scheduler,
    metrics,
  }, { cluster: config.cluster, dryRun: config.dryRun });
  return { scheduler, handler, nodeReturn };
}

type Workers = ReturnType<typeof createWorkers>;

/** The poll loop: each notice goes to the handler, each finished event to the node's return. */
function createPoller(
  { config, logger, metrics }: Wiring,
  imds: Adapters["imds"],
  handler: Workers["handler"],
  nodeReturn: Workers["nodeReturn"],
) {
  return createMonitor(imds, {
    pollIntervalMs: config.pollIntervalMs,
    noticeUrl: config.noticeUrl,
    logger,
    metrics,
    onNotice: async (notice) => {
      await handler.handle(notice);
      // A notice skipped as already handled may have held up the node's return at start-up.
      await nodeReturn.check();
    },
    onFinishedEvents: (events) => void nodeReturn.eventsFinished(events),
  });
}

/** /healthz, /readyz and /metrics, unless `METRICS_PORT=0`. */
function startHealth(
  { config, logger, metrics, signal }: Wiring,
  monitor: ReturnType<typeof createPoller>,
  preflight: Adapters["preflight"],
) {
  if (config.metricsPort === 0) return undefined;
  // Liveness: the loop completes a round (with or without IMDS errors) at least this often.
  const staleMs = Math.max(60_000, 10 * config.pollIntervalMs);
  return keepListening({
    port: config.metricsPort,
    hostname: config.metricsAddress,
    metrics,
    logger,
    signal,
    healthy: () => Date.now() - monitor.status().lastRoundAt < staleMs,
    // Not ready names why: IMDS silent, or the first failing preflight check.
    ready: () =>
      Date.now() - (monitor.status().lastSuccessAt ?? 0) >= staleMs
        ? "IMDS has not answered within the last minute"
        : preflight.failing() ?? true,
  });
}

/** After the poll loop stops: finish the notices in flight, then let every loop end. */
async function shutdown({ logger }: Wiring, workers: ReturnType<typeof startWorkers>) {
  workers.scheduler.stop();
  logger.info("shutting down; finishing notices in flight");
  await workers.handler.settled();
  await workers.returning;
  await workers.checked;
  await workers.server?.finished;
}

/** The AWS credential variables the preflight looks for (the SDK reads them itself later). */
function awsCredentialEnv(env: Record<string, string>): AwsCredentialEnv {
  const names: (keyof AwsCredentialEnv)[] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
  ];
  return Object.fromEntries(names.filter((n) => env[n]).map((n) => [n, env[n]]));
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
