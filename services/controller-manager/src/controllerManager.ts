import { ApiClient, EventRecorder, InformerFactory } from "@kubelab/client";
import { startMetricsServer, type Logger } from "@kubelab/service-kit";
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
  close(): Promise<void>;
}

/** Every controller in one process over one set of shared informers, as kube-controller-manager. */
export async function startControllerManager(cfg: ControllerManagerConfig, log: Logger): Promise<RunningControllerManager> {
  const client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
  const informers = new InformerFactory(client);
  const recorder = new EventRecorder(client, { component: "controller-manager" }, (e) => log.warn("event not recorded", { error: e }));
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
  // cache would create pods that already exist.
  await informers.start();
  synced = true;
  const running = controllers.map(([c, workers]) => c.run(workers));
  log.info("controller-manager started", { controllers: controllers.map(([c]) => c.name).join(",") });
  return {
    metricsPort: metrics.port,
    close: async () => {
      for (const [c] of controllers) c.stop();
      await Promise.all(running);
      informers.stop();
      await recorder.flush();
      await metrics.close();
      client.close();
    },
  };
}
