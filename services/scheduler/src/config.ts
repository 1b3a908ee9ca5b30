import { leaderElectionOptions, loadConfig, type ConfigOf } from "@kubelab/service-kit";

/** The scheduler's settings, with kube-scheduler's names where it has the same setting. */
export const schedulerOptions = {
  server: { flag: "server", description: "API server address", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  schedulerName: { flag: "scheduler-name", description: "pods with this spec.schedulerName are ours", default: "default-scheduler" },
  metricsPort: {
    flag: "metrics-port",
    description: "HTTP port of /metrics, /healthz and /readyz (kube-scheduler's 10259)",
    default: 10259,
  },
  podInitialBackoffSeconds: {
    flag: "pod-initial-backoff-seconds",
    description: "first wait before an unschedulable pod is tried again",
    default: 1,
  },
  podMaxBackoffSeconds: {
    flag: "pod-max-backoff-seconds",
    description: "longest wait before an unschedulable pod is tried again",
    default: 10,
  },
  bindTimeoutSeconds: {
    flag: "bind-timeout-seconds",
    description: "how long a pod's volumes may take to bind before it goes back to the queue (VolumeBindingArgs.bindTimeoutSeconds)",
    default: 60,
  },
  parallelism: { flag: "parallelism", description: "bindings in flight at once", default: 16 },
  ...leaderElectionOptions,
  leaderElectResourceName: {
    flag: "leader-elect-resource-name",
    description: "name of the Lease the copies campaign for",
    default: "kube-scheduler",
  },
};

export type SchedulerConfig = ConfigOf<typeof schedulerOptions>;

export function loadSchedulerConfig(argv?: string[], env?: NodeJS.ProcessEnv): SchedulerConfig {
  return loadConfig("scheduler", schedulerOptions, argv, env) as SchedulerConfig;
}

export function defaultSchedulerConfig(overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  return { ...loadConfig("scheduler", schedulerOptions, [], {}), ...overrides } as SchedulerConfig;
}
