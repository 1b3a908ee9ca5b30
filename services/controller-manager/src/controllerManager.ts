import os from "node:os";
import { ApiClient, EventRecorder, InformerFactory, leaderElectionConfig, runLeaderElected, type LeaderElection } from "@kubelab/client";
import { leaderElectionStatus, startMetricsServer, type Logger } from "@kubelab/service-kit";
import type { ControllerManagerConfig } from "./config.js";
import { CronJobController } from "./controllers/cronjob/cronJobController.js";
import { DeploymentController } from "./controllers/deployment/deploymentController.js";
import { EndpointsController } from "./controllers/endpoints/endpointsController.js";
import { GarbageCollector } from "./controllers/garbagecollector/garbageCollector.js";
import { JobController } from "./controllers/job/jobController.js";
import { NamespaceController } from "./controllers/namespace/namespaceController.js";
import { NodeLifecycleController } from "./controllers/nodelifecycle/nodeLifecycleController.js";
import { PodGCController } from "./controllers/podgc/podGCController.js";
import { HorizontalController } from "./controllers/podautoscaler/horizontalController.js";
import type { ControllerContext, QueueController } from "./controllers/queueController.js";
import { ReplicaSetController } from "./controllers/replicaset/replicaSetController.js";
import { LocalPathProvisioner } from "./controllers/volume/localProvisioner.js";
import { PvProtectionController, PvcProtectionController } from "./controllers/volume/protectionControllers.js";
import { PersistentVolumeController } from "./controllers/volume/pvController.js";

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
    [new CronJobController(ctx), cfg.concurrentCronJobSyncs],
    [new GarbageCollector(ctx), cfg.concurrentGcSyncs],
    [new EndpointsController(ctx), cfg.concurrentEndpointSyncs],
    [new NamespaceController(ctx), 2],
    [new PersistentVolumeController(ctx), 2],
    [new PvcProtectionController(ctx), 1],
    [new PvProtectionController(ctx), 1],
    [new LocalPathProvisioner(ctx), 1],
    [
      new HorizontalController(ctx, {
        syncPeriodSeconds: cfg.horizontalPodAutoscalerSyncPeriodSeconds,
        downscaleStabilizationSeconds: cfg.horizontalPodAutoscalerDownscaleStabilizationSeconds,
        tolerance: cfg.horizontalPodAutoscalerTolerance,
        cpuInitializationPeriodSeconds: cfg.horizontalPodAutoscalerCpuInitializationPeriodSeconds,
        initialReadinessDelaySeconds: cfg.horizontalPodAutoscalerInitialReadinessDelaySeconds,
      }),
      cfg.concurrentHorizontalPodAutoscalerSyncs,
    ],
    [
      new PodGCController(ctx, {
        checkPeriodSeconds: cfg.podGcCheckPeriodSeconds,
        orphanQuarantineSeconds: cfg.podGcOrphanQuarantineSeconds,
      }),
      1,
    ],
    [
      new NodeLifecycleController(ctx, {
        nodeMonitorGracePeriodSeconds: cfg.nodeMonitorGracePeriodSeconds,
        nodeMonitorPeriodSeconds: cfg.nodeMonitorPeriodSeconds,
      }),
      1,
    ],
  ];
  let leading = false;
  let synced = false;
  // A standby is ready to take over; a leader once its caches have listed.
  const metrics = await startMetricsServer(cfg.metricsPort, { component: "controller-manager", ready: () => !leading || synced });
  let running: Promise<unknown> | undefined;
  const component = {
    // As kube-controller-manager, a standby holds no informers (it would only follow every
    // change for nothing): the leader starts them, and reconciles nothing before every cache has
    // listed, since a controller acting on a half-filled cache would create pods that exist.
    // Not awaited: the leader renews its Lease meanwhile.
    lead: () => {
      leading = true;
      running ??= (async () => {
        await informers.start();
        synced = true;
        if (!leading) return;
        log.info("controllers running", { controllers: controllers.map(([c]) => c.name).join(",") });
        await Promise.all(controllers.map(([c, workers]) => c.run(workers)));
      })();
    },
    stopActing: async () => {
      leading = false;
      for (const [c] of controllers) c.stop();
      await running;
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
