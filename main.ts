// deno-lint-ignore-file house/max-function-lines -- DEBT(issue 14): split, then drop this line
/**
 * Entry point: reads the configuration, wires the real implementations together and runs the
 * poll loop until SIGTERM. Everything with behaviour lives in lib/.
 *
 * @module
 */

import { fileReadable, loadConfig, redactConfig } from "./lib/config.ts";
import { helpText } from "./lib/config_variables.ts";
import { createAsgDetacher } from "./lib/asg.ts";
import { createDrainer } from "./lib/drain.ts";
import { createHandler } from "./lib/handler.ts";
import { createImds } from "./lib/imds.ts";
import { identityWithUrls } from "./lib/identity_urls.ts";
import { createKube } from "./lib/kube.ts";
import { connectKubeCore, type KubeCore } from "./lib/kube_http.ts";
import { runCheck, runTestNotification } from "./lib/commands.ts";
import { createPreflight, PREFLIGHT_INTERVAL_MS } from "./lib/preflight.ts";
import type { AwsCredentialEnv } from "./lib/preflight_aws.ts";
import { createLogger } from "./lib/log.ts";
import { createMetrics } from "./lib/metrics.ts";
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
  if (args.includes("--help") || args.includes("-h")) {
    console.log(helpText());
    return 0;
  }
  const command = args[0] === "--check" || args[0] === "--test-notification" ? args[0] : undefined;
  if (args.length > (command ? 1 : 0)) {
    console.error(
      `unknown argument ${
        JSON.stringify(args[command ? 1 : 0])
      }; configure with environment variables, see --help`,
    );
    return 2;
  }
  // Only a configured webhook template loads its engine: idle memory is every node's cost.
  if (usesWebhookTemplate(env)) await loadTemplateEngine();
  const { config, errors, warnings } = loadConfig(env, { readable: fileReadable });
  if (!config) {
    for (const line of errors) console.error(`config error: ${line}`);
    console.error(`${errors.length} configuration problem(s); see --help`);
    return 2;
  }

  // The commands print plain lines; only problems of the wiring itself go to the log.
  const logger = createLogger({
    format: config.logFormat,
    level: command ? "error" : config.logLevel,
  });
  const metrics = createMetrics();
  const node = config.nodeName ?? `(node of pod ${config.namespace}/${config.podName})`;
  if (!command) {
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

  const controller = new AbortController();
  const stop = () => controller.abort();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);

  const imds = createImds({
    endpoint: config.imdsEndpoint,
    v1Fallback: !config.imdsV1Disabled,
    logger,
  });
  const identity = identityWithUrls(imds, config.identityUrls);
  const notifier = createNotifier(config.notifierEnv, { logger, metrics });
  if (notifier.targets.length > 0) logger.info("notifications on", { targets: notifier.targets });

  const kube = cached(() => createKube({ kubeconfigPath: config.kubeconfigPath, logger }));
  const kubeCore = cached((): Promise<KubeCore> =>
    connectKubeCore({
      kubeconfigPath: config.kubeconfigPath,
      serviceHost: env.KUBERNETES_SERVICE_HOST,
      servicePort: env.KUBERNETES_SERVICE_PORT,
      fallback: kube,
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
    kubeCore,
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
  if (command === "--check") {
    return await runCheck({
      preflight,
      print: (line) => console.log(line),
      asg: asg
        ? async () => {
          const id = await identity();
          return { detacher: asg(config.awsRegion ?? id.region), identity: id };
        }
        : undefined,
    });
  }
  if (command === "--test-notification") {
    const id = await identity().catch(() => undefined);
    return await runTestNotification({
      notifier,
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

  const scheduler = createScheduler();
  const handler = createHandler({
    scheduler,
    kubeCore,
    kube,
    drainer: (k) => createDrainer(k, { logger, metrics }),
    asg,
    notifier,
    identity: () => identity({ signal: controller.signal }),
    logger,
    metrics,
  }, {
    nodeName: config.nodeName,
    ownPod,
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
    kubeCore,
    nodeName: () => handler.nodeName(),
    identity: () => identity({ signal: controller.signal }),
    notifier,
    logger,
    busy: () => handler.busy(),
    scheduler,
    metrics,
  }, { cluster: config.cluster, dryRun: config.dryRun });
  const returning = nodeReturn.repeat(controller.signal, realSleep, PREFLIGHT_INTERVAL_MS);

  // The preflight logs one line per check and feeds /readyz; it never delays the polling.
  const checked = preflight.run().catch((error) =>
    logger.warn("preflight could not run", { error: String(error) })
  ).then(() => preflight.repeat(controller.signal, realSleep));
  if (!config.nodeName) {
    // Look the node up now so the handler knows it before a notice.
    handler.nodeName().then(
      (name) => logger.info("node found from own pod", { node: name }),
      () => {},
    );
  }
  identity({ signal: controller.signal }).then(
    (id) => logger.info("instance identity", { ...id }),
    (error) => logger.warn("instance identity not available yet", { error: String(error) }),
  );

  // Liveness: the loop completes a round (with or without IMDS errors) at least this often.
  const staleMs = Math.max(60_000, 10 * config.pollIntervalMs);
  const server = config.metricsPort === 0 ? undefined : keepListening({
    port: config.metricsPort,
    hostname: config.metricsAddress,
    metrics,
    logger,
    signal: controller.signal,
    healthy: () => Date.now() - monitor.status().lastRoundAt < staleMs,
    // Not ready names why: IMDS silent, or the first failing preflight check.
    ready: () =>
      Date.now() - (monitor.status().lastSuccessAt ?? 0) >= staleMs
        ? "IMDS has not answered within the last minute"
        : preflight.failing() ?? true,
  });

  const monitor = createMonitor(imds, {
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
  await monitor.run(controller.signal);
  scheduler.stop();

  logger.info("shutting down; finishing notices in flight");
  await handler.settled();
  await returning;
  await checked;
  await server?.finished;
  Deno.removeSignalListener("SIGTERM", stop);
  Deno.removeSignalListener("SIGINT", stop);
  logger.info("stopped");
  return 0;
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
