import { leaderElectionOptions, loadConfig, type ConfigOf } from "@kubelab/service-kit";

/** The controller-manager's settings, with kube-controller-manager's names where it has the same setting. */
export const controllerManagerOptions = {
  server: { flag: "server", description: "API server address", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  metricsPort: {
    flag: "metrics-port",
    description: "HTTP port of /metrics, /healthz and /readyz (kube-controller-manager's 10257)",
    default: 10257,
  },
  concurrentReplicasetSyncs: { flag: "concurrent-replicaset-syncs", description: "ReplicaSets reconciled at once", default: 5 },
  concurrentDeploymentSyncs: { flag: "concurrent-deployment-syncs", description: "Deployments reconciled at once", default: 5 },
  concurrentJobSyncs: { flag: "concurrent-job-syncs", description: "Jobs reconciled at once", default: 5 },
  concurrentCronJobSyncs: { flag: "concurrent-cron-job-syncs", description: "CronJobs reconciled at once", default: 5 },
  concurrentEndpointSyncs: {
    flag: "concurrent-endpoint-syncs",
    description: "Services whose Endpoints are reconciled at once",
    default: 5,
  },
  concurrentGcSyncs: { flag: "concurrent-gc-syncs", description: "garbage collector workers", default: 20 },
  nodeMonitorGracePeriodSeconds: {
    flag: "node-monitor-grace-period",
    description: "seconds without a node heartbeat before it is Ready=Unknown",
    default: 40,
    duration: true,
  },
  nodeMonitorPeriodSeconds: {
    flag: "node-monitor-period",
    description: "seconds between checks of every node's health",
    default: 5,
    duration: true,
  },
  podGcCheckPeriodSeconds: {
    flag: "pod-gc-check-period",
    description: "seconds between two passes of the pod garbage collector (Kubernetes' gcCheckPeriod: 20 s)",
    default: 20,
    duration: true,
  },
  podGcOrphanQuarantineSeconds: {
    flag: "pod-gc-orphan-quarantine",
    description: "seconds a node must be gone before the pods bound to it are deleted (Kubernetes: 40 s)",
    default: 40,
    duration: true,
  },
  jobPodFailureBackoffSeconds: {
    flag: "job-pod-failure-backoff",
    description: "seconds of a Job's first back-off after a failed pod (doubles up to 6 min)",
    default: 10,
    duration: true,
  },
  concurrentHorizontalPodAutoscalerSyncs: {
    flag: "concurrent-horizontal-pod-autoscaler-syncs",
    description: "HorizontalPodAutoscalers reconciled at once",
    default: 5,
  },
  horizontalPodAutoscalerSyncPeriodSeconds: {
    flag: "horizontal-pod-autoscaler-sync-period",
    description: "seconds between two looks of the HPA controller at each HorizontalPodAutoscaler",
    default: 15,
    duration: true,
  },
  horizontalPodAutoscalerDownscaleStabilizationSeconds: {
    flag: "horizontal-pod-autoscaler-downscale-stabilization",
    description:
      "seconds of recommendations a scale-down takes the highest of (an HPA's behavior.scaleDown.stabilizationWindowSeconds overrides it)",
    default: 300,
    duration: true,
  },
  horizontalPodAutoscalerTolerance: {
    flag: "horizontal-pod-autoscaler-tolerance",
    description: "a ratio of metric to target this close to 1 is no reason to scale",
    default: 0.1,
  },
  horizontalPodAutoscalerCpuInitializationPeriodSeconds: {
    flag: "horizontal-pod-autoscaler-cpu-initialization-period",
    description: "seconds after a pod's start during which its CPU samples count only once it is ready and a full window has passed",
    default: 300,
    duration: true,
  },
  horizontalPodAutoscalerInitialReadinessDelaySeconds: {
    flag: "horizontal-pod-autoscaler-initial-readiness-delay",
    description: "seconds after a pod's start during which a not-ready pod is taken as never ready yet",
    default: 30,
    duration: true,
  },
  ...leaderElectionOptions,
  leaderElectResourceName: {
    flag: "leader-elect-resource-name",
    description: "name of the Lease the copies campaign for",
    default: "kube-controller-manager",
  },
};

export type ControllerManagerConfig = ConfigOf<typeof controllerManagerOptions>;

export function loadControllerManagerConfig(argv?: string[], env?: NodeJS.ProcessEnv): ControllerManagerConfig {
  return loadConfig("controller-manager", controllerManagerOptions, argv, env) as ControllerManagerConfig;
}

export function defaultControllerManagerConfig(overrides: Partial<ControllerManagerConfig> = {}): ControllerManagerConfig {
  return { ...loadConfig("controller-manager", controllerManagerOptions, [], {}), ...overrides } as ControllerManagerConfig;
}
