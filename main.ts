/**
 * Entry point: reads the configuration, wires the real implementations together and runs the
 * poll loop until SIGTERM. Everything with behaviour lives in lib/.
 *
 * @module
 */

import { fileReadable, helpText, loadConfig, redactConfig } from "./lib/config.ts";
import { createAsgDetacher } from "./lib/asg.ts";
import { createDrainer } from "./lib/drain.ts";
import { createHandler } from "./lib/handler.ts";
import { createImds } from "./lib/imds.ts";
import { createKube, type Kube } from "./lib/kube.ts";
import { createLogger } from "./lib/log.ts";
import { createMetrics } from "./lib/metrics.ts";
import { createMonitor } from "./lib/monitor.ts";
import { createNotifier } from "./lib/notify.ts";
import { realSleep } from "./lib/retry.ts";
import { keepListening } from "./lib/server.ts";

/** The version printed in the banner. */
export const VERSION = "0.1.0";

/** Run the handler; resolves with the process exit code. */
export async function main(args: string[], env: Record<string, string>): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText());
    return 0;
  }
  if (args.length > 0) {
    console.error(
      `unknown argument ${
        JSON.stringify(args[0])
      }; configure with environment variables, see --help`,
    );
    return 2;
  }
  const { config, errors, warnings } = loadConfig(env, { readable: fileReadable });
  if (!config) {
    for (const line of errors) console.error(`config error: ${line}`);
    console.error(`${errors.length} configuration problem(s); see --help`);
    return 2;
  }

  const logger = createLogger({ format: config.logFormat, level: config.logLevel });
  const metrics = createMetrics();
  const node = config.nodeName ?? `(node of pod ${config.namespace}/${config.podName})`;
  logger.info(
    `spot-termination-handler ${VERSION} starting${config.dryRun ? " in DRY RUN mode" : ""}`,
  );
  logger.info(`\`kubectl drain ${node}\` will be executed once a termination notice is made.`);
  logger.info(
    `Polling ${config.imdsEndpoint}/latest/meta-data/spot/instance-action every ${
      config.pollIntervalMs / 1000
    } second(s)`,
  );
  logger.info("configuration", redactConfig(config));
  for (const w of warnings) logger.warn(w);

  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  const imds = createImds({
    endpoint: config.imdsEndpoint,
    v1Fallback: !config.imdsV1Disabled,
    logger,
  });
  const notifier = createNotifier(config.notifierEnv, { logger, metrics });
  if (notifier.targets.length > 0) logger.info("notifications on", { targets: notifier.targets });

  let kubePromise: Promise<Kube> | undefined;
  const handler = createHandler({
    kube: () => {
      kubePromise ??= createKube({ kubeconfigPath: config.kubeconfigPath, logger });
      kubePromise.catch(() => kubePromise = undefined);
      return kubePromise;
    },
    drainer: (kube) => createDrainer(kube, { logger, metrics }),
    asg: config.detachAsg
      ? (region) => createAsgDetacher({ region, endpoint: config.asgEndpoint, logger, metrics })
      : undefined,
    notifier,
    identity: () => imds.identity({ signal: controller.signal }),
    logger,
    metrics,
  }, {
    nodeName: config.nodeName,
    ownPod: config.podName && config.namespace
      ? { name: config.podName, namespace: config.namespace }
      : undefined,
    cluster: config.cluster,
    dryRun: config.dryRun,
    rebalanceAction: config.rebalanceAction,
    detachAsg: config.detachAsg,
    gracePeriodSeconds: config.gracePeriodSeconds,
    awsRegion: config.awsRegion,
  });

  if (!config.nodeName) {
    // Look the node up now so a wrong POD_NAME shows at start-up, not at the notice.
    handler.nodeName().then(
      (name) => logger.info("node found from own pod", { node: name }),
      (error) => logger.error("could not find the node from POD_NAME", { error: String(error) }),
    );
  }
  imds.identity({ signal: controller.signal }).then(
    (id) => logger.info("instance identity", { ...id }),
    (error) => logger.warn("instance identity not available yet", { error: String(error) }),
  );

  // Liveness: the loop completes a round (with or without IMDS errors) at least this often.
  const staleMs = Math.max(60_000, 10 * config.pollIntervalMs);
  let lastRound = Date.now();
  const server = config.metricsPort === 0 ? undefined : keepListening({
    port: config.metricsPort,
    hostname: config.metricsAddress,
    metrics,
    logger,
    signal: controller.signal,
    healthy: () => Date.now() - lastRound < staleMs,
    ready: () =>
      Date.now() - metrics.get("sth_last_successful_poll_timestamp_seconds") * 1000 < staleMs,
  });

  const monitor = createMonitor(imds, {
    pollIntervalMs: config.pollIntervalMs,
    noticeUrl: config.noticeUrl,
    logger,
    metrics,
    onNotice: async (notice) => {
      await handler.handle(notice);
    },
    sleep: (ms, signal) => {
      lastRound = Date.now();
      return realSleep(ms, signal);
    },
  });
  await monitor.run(controller.signal);

  logger.info("shutting down; finishing notices in flight");
  await handler.settled();
  await server?.finished;
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  logger.info("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args, Deno.env.toObject()));
