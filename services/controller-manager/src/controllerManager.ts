import os from "node:os";
import { ApiClient, EventRecorder, InformerFactory, leaderElectionConfig, runLeaderElected, type LeaderElection } from "@kubelab/client";
import { leaderElectionStatus, startMetricsServer, type Logger } from "@kubelab/service-kit";
import type { ControllerManagerConfig } from "./config.js";
import { DeploymentController } from "./controllers/deployment/deploymentController.js";
import { EndpointsController } from "./controllers/endpoints/endpointsController.js";
import { GarbageCollector } from "./controllers/garbagecollector/garbageCollector.js";
import { JobController } from "./controllers/job/jobController.js";
import { NamespaceController } from "./controllers/namespace/namespaceController.js";
import { NodeLifecycleController } from "./controllers/nodelifecycle/nodeLifecycleController.js";
import type { ControllerContext, QueueController } from "./controllers/queueController.js";
import { ReplicaSetController } from "./controllers/replicaset/replicaSetController.js";

export interface RunningControllerManager {
  metricsPort: number;
  /** Resolves when this copy lost its leader lease and must exit. */
  fatal?: Promise<string>;
  close(): Promise<void>;
}

/**
 * Every controller in one process over one set of shared informers, as kube-controller-manager;
 * with --leader-elect the controllers run only while this copy holds the kube-controller-manager
 * Lease.
 */
export async function startControllerManager(cfg: ControllerManagerConfig, log: Logger): Promise<RunningControllerManager> {
  const client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
  const informers = new InformerFactory(client);
  const recorder = new EventRecorder(
    client,
    { component: "controller-manager", instance: `kube-controller-manager-${os.hostname()}` },
    (e) => log.warn("event not recorded", { error: e }),
  );
  const ctx: ControllerContext = { client, informers, recorder, log };
  const controllers: Array<[QueueController, number]> = [
    [new ReplicaSetController(ctx), cfg.concurrentReplicasetSyncs],
    [new DeploymentController(ctx), cfg.concurrentDeploymentSyncs],
    [new JobController(ctx, { podFailureBackoffSeconds: cfg.jobPodFailureBackoffSeconds }), cfg.concurrentJobSyncs],
    [new GarbageCollector(ctx), cfg.concurrentGcSyncs],
    [new EndpointsController(ctx), cfg.concurrentEndpointSyncs],
    [new NamespaceController(ctx), 2],
    [
      new NodeLifecycleController(ctx, {
        nodeMonitorGracePeriodSeconds: cfg.nodeMonitorGracePeriodSeconds,
        nodeMonitorPeriodSeconds: cfg.nodeMonitorPeriodSeconds,
      }),
      1,
    ],
  ];
  let synced = false;
  const metrics = await startMetricsServer(cfg.metricsPort, { component: "controller-manager", ready: () => synced });
  // Nothing is reconciled before every cache has listed: a controller acting on a half-filled
  // cache would create pods that already exist. A standby keeps its caches warm too.
  await informers.start();
  synced = true;
  let running: Promise<void>[] | undefined;
  const component = {
    lead: () => {
      running ??= controllers.map(([c, workers]) => c.run(workers));
      log.info("controllers running", { controllers: controllers.map(([c]) => c.name).join(",") });
    },
    stopActing: async () => {
      for (const [c] of controllers) c.stop();
      await Promise.all(running ?? []);
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
    close: async () => {
      await election?.stop();
      await component.stopActing();
      informers.stop();
      await recorder.flush();
      await metrics.close();
      client.close();
    },
  };
}
