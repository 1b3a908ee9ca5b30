import {
  ApiClient,
  EventRecorder,
  InformerFactory,
  leaderElectionConfig,
  objectKey,
  runLeaderElected,
  type ControllerContext,
  type LeaderElection,
  type QueueController,
} from "@kubelab/client";
import type { Endpoints } from "@kubelab/api";
import { ConfigError, leaderElectionStatus, startMetricsServer, type Logger } from "@kubelab/service-kit";
import os from "node:os";
import type { CloudControllerManagerConfig } from "./config.js";
import { ServiceController } from "./controllers/service/serviceController.js";
import { CloudNodeLifecycleController } from "./controllers/nodelifecycle/cloudNodeLifecycleController.js";
import { DockerInstances } from "./docker/dockerInstances.js";
import Docker from "dockerode";
import { LoopbackCloud } from "./loopback/loopbackCloud.js";
import { loadBalancerMetrics } from "./loopback/metrics.js";

export interface RunningCloudControllerManager {
  metricsPort: number;
  /** Resolves when this copy lost its leader lease and must exit. */
  fatal?: Promise<string>;
  /** The cloud, for tests: its load balancers' targets. */
  cloud: LoopbackCloud;
  close(): Promise<void>;
}

const KNOWN_CONTROLLERS = ["service", "cloud-node-lifecycle"];

/**
 * Kubernetes' cloud-controller-manager for the lab's "cloud" (the host's loopback): the
 * controllers that need the cloud, over one set of informers, run by the leader of the
 * cloud-controller-manager Lease: the service controller (load balancers on the loopback) and the
 * cloud node lifecycle controller (nodes whose machine, a Docker container, is gone or stopped).
 */
export async function startCloudControllerManager(cfg: CloudControllerManagerConfig, log: Logger): Promise<RunningCloudControllerManager> {
  const enabled = cfg.controllers
    .split(",")
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of enabled)
    if (!KNOWN_CONTROLLERS.includes(c))
      throw new ConfigError(`cloud-controller-manager: --controllers: unknown controller "${c}" (known: ${KNOWN_CONTROLLERS.join(", ")})`);
  const client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
  const informers = new InformerFactory(client);
  const recorder = new EventRecorder(
    client,
    // Kubernetes' service controller reports as "service-controller".
    { component: "service-controller", instance: `cloud-controller-manager-${os.hostname()}` },
    (e) => log.warn("event not recorded", { error: e }),
  );
  const ctx: ControllerContext<Logger> = { client, informers, recorder, log };
  const recorders = [recorder];
  let leading = false;
  let synced = false;
  const metrics = await startMetricsServer(cfg.metricsPort, {
    host: cfg.metricsAddress,
    component: "cloud-controller-manager",
    ready: () => !leading || synced,
  });
  const endpoints = informers.for<Endpoints>("endpoints");
  const cloud = new LoopbackCloud({
    ipRange: cfg.loadBalancerIpRange,
    maxConnectionsPerPort: cfg.maxConnectionsPerPort,
    connectTimeoutMs: cfg.connectTimeoutMs,
    healthCheckIntervalMs: cfg.healthCheckIntervalSeconds * 1000,
    endpointsOf: (key) => endpoints.get(key),
    metrics: loadBalancerMetrics(metrics.registry),
    log,
  });
  // Load balancers that send straight to endpoints follow them.
  const endpointsChanged = (e: Endpoints) => cloud.refreshTargets(objectKey(e));
  endpoints.addEventHandler({ onAdd: endpointsChanged, onUpdate: (_, e) => endpointsChanged(e), onDelete: endpointsChanged });

  const controllers: Array<[QueueController<ControllerContext<Logger>>, number]> = [];
  if (enabled.includes("service"))
    controllers.push([new ServiceController(ctx, cloud, { loadBalancerClass: cfg.loadBalancerClass }), cfg.concurrentServiceSyncs]);
  if (enabled.includes("cloud-node-lifecycle")) {
    const instances = new DockerInstances(new Docker({ socketPath: cfg.dockerHost }));
    // Kubernetes' node lifecycle events come from "cloud-node-lifecycle-controller".
    const nodeRecorder = new EventRecorder(
      client,
      { component: "cloud-node-lifecycle-controller", instance: `cloud-controller-manager-${os.hostname()}` },
      (e) => log.warn("event not recorded", { error: e }),
    );
    recorders.push(nodeRecorder);
    controllers.push([
      new CloudNodeLifecycleController({ ...ctx, recorder: nodeRecorder }, instances, cfg.nodeMonitorPeriodSeconds * 1000),
      1,
    ]);
  }

  let running: Promise<unknown> | undefined;
  const component = {
    // As the controller-manager: a standby holds no informers and serves no load balancer; the
    // leader lists everything before it acts.
    lead: () => {
      leading = true;
      running ??= (async () => {
        await informers.start();
        synced = true;
        if (!leading) return;
        log.info("controllers running", { controllers: enabled.join(","), range: cfg.loadBalancerIpRange });
        await Promise.all(controllers.map(([c, workers]) => c.run(workers)));
      })();
    },
    stopActing: async () => {
      leading = false;
      for (const [c] of controllers) c.stop();
      await running;
      // The addresses are released at once, so the next leader can listen on them.
      cloud.closeAll();
    },
  };
  let election: LeaderElection | undefined;
  if (!cfg.leaderElect) component.lead();
  else {
    election = runLeaderElected(client, leaderElectionConfig(cfg), component, log);
    leaderElectionStatus(metrics.registry, cfg.leaderElectResourceName, () => election!.elector.isLeader);
  }
  return {
    metricsPort: metrics.port,
    fatal: election?.lost,
    cloud,
    close: async () => {
      await election?.stop();
      await component.stopActing();
      informers.stop();
      await Promise.all(recorders.map((r) => r.flush()));
      await metrics.close();
      client.close();
    },
  };
}
