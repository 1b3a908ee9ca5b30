import { loadConfig, type ConfigOf } from "@kubelab/service-kit";

/** metrics-server's settings, with its own flag names where it has the same setting. */
export const metricsServerOptions = {
  server: { flag: "server", description: "API server address(es), comma-separated", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  bindAddress: { flag: "bind-address", description: "address the gRPC API (metrics.k8s.io) listens on", default: "0.0.0.0" },
  port: { flag: "port", description: "gRPC port the API server's aggregation layer calls", default: 4443 },
  metricsPort: { flag: "metrics-port", description: "HTTP port of /metrics, /healthz and /readyz", default: 4444 },
  metricResolutionSeconds: {
    flag: "metric-resolution",
    description: "seconds between scrapes of every kubelet; a usage is the rate between two scrapes (metrics-server's default: 15)",
    default: 15,
    duration: true,
  },
  kubeletPort: {
    flag: "kubelet-port",
    description: "the kubelets' HTTP port serving /metrics/resource (the read-only port; Kubernetes' metrics-server uses 10250 over TLS)",
    default: 10255,
  },
  kubeletRequestTimeoutSeconds: {
    flag: "kubelet-request-timeout",
    description: "seconds a scrape of one kubelet may take",
    default: 10,
    duration: true,
  },
};

export type MetricsServerConfig = ConfigOf<typeof metricsServerOptions>;

export function loadMetricsServerConfig(argv?: string[], env?: NodeJS.ProcessEnv): MetricsServerConfig {
  return loadConfig("metrics-server", metricsServerOptions, argv, env) as MetricsServerConfig;
}

export function defaultMetricsServerConfig(overrides: Partial<MetricsServerConfig> = {}): MetricsServerConfig {
  return { ...loadConfig("metrics-server", metricsServerOptions, [], {}), ...overrides } as MetricsServerConfig;
}
