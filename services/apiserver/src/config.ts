import { loadConfig, type ConfigOf } from "@kubelab/service-kit";

/** The API server's settings, with kube-apiserver's flag names where it has the same setting. */
export const apiServerOptions = {
  etcdServers: { flag: "etcd-servers", description: "etcd members, comma-separated", default: ["http://127.0.0.1:2379"] },
  bindAddress: { flag: "bind-address", description: "address the gRPC API listens on", default: "0.0.0.0" },
  port: { flag: "port", description: "gRPC API port", default: 6443 },
  httpPort: {
    flag: "http-port",
    description: "port of Kubernetes' HTTP API (JSON, plaintext), for kubectl and other Kubernetes clients (-1: none)",
    default: 6080,
  },
  metricsPort: { flag: "metrics-port", description: "HTTP port of /metrics, /healthz and /readyz", default: 8080 },
  metricsServer: {
    flag: "metrics-server",
    description:
      "host:port of metrics-server's gRPC API, where Get and List of metrics.k8s.io go (Kubernetes registers it with an APIService object); empty: metrics are unavailable",
    default: "",
  },
  etcdCompactionIntervalSeconds: {
    flag: "etcd-compaction-interval",
    description: "seconds between etcd compactions (0: never)",
    default: 300,
    duration: true,
  },
  etcdRequestTimeoutSeconds: {
    flag: "etcd-request-timeout",
    description: "seconds before an etcd request answers UNAVAILABLE",
    default: 5,
    duration: true,
  },
  watchCacheSize: {
    flag: "default-watch-cache-size",
    description: "events kept for watchers resuming from an older resourceVersion",
    default: 10000,
  },
  watchBookmarkIntervalSeconds: {
    flag: "watch-bookmark-interval",
    description: "seconds between BOOKMARK events on idle watches",
    default: 5,
    duration: true,
  },
  watchCacheMaxBytes: {
    flag: "watch-cache-max-bytes",
    description: "bytes the watch cache's kept events may hold (their objects and previous versions, encoded)",
    default: 32 * 1024 * 1024,
  },
  watchCacheWindowSeconds: {
    flag: "watch-cache-window",
    description: "seconds an event is kept for resuming watchers at most (Kubernetes' watch cache freshness: 75)",
    default: 75,
    duration: true,
  },
  watchMaxPendingBytes: {
    flag: "watch-max-pending-bytes",
    description: "bytes of events that may wait for one watcher; beyond them it is closed as too slow",
    default: 16 * 1024 * 1024,
  },
  watchStallTimeoutSeconds: {
    flag: "watch-stall-timeout",
    description: "seconds a watch message may wait for the client to take it; then the watcher is closed as too slow",
    default: 10,
    duration: true,
  },
  serviceClusterIpRange: { flag: "service-cluster-ip-range", description: "CIDR Services' ClusterIPs come from", default: "10.96.0.0/12" },
  serviceNodePortRange: { flag: "service-node-port-range", description: "ports NodePort Services get, LOW-HIGH", default: "30000-32767" },
  eventTtlSeconds: {
    flag: "event-ttl",
    description: "seconds an Event is kept after its last write (0: forever)",
    default: 3600,
    duration: true,
  },
  defaultNotReadyTolerationSeconds: {
    flag: "default-not-ready-toleration-seconds",
    description: "tolerationSeconds of the not-ready:NoExecute toleration added to every pod",
    default: 300,
  },
  defaultUnreachableTolerationSeconds: {
    flag: "default-unreachable-toleration-seconds",
    description: "tolerationSeconds of the unreachable:NoExecute toleration added to every pod",
    default: 300,
  },
};

export type ApiServerConfig = ConfigOf<typeof apiServerOptions>;

export function loadApiServerConfig(argv?: string[], env?: NodeJS.ProcessEnv): ApiServerConfig {
  return loadConfig("apiserver", apiServerOptions, argv, env) as ApiServerConfig;
}

export function defaultApiServerConfig(overrides: Partial<ApiServerConfig> = {}): ApiServerConfig {
  return { ...loadConfig("apiserver", apiServerOptions, [], {}), ...overrides } as ApiServerConfig;
}
