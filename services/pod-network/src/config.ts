import { loadConfig, type ConfigOf } from "@kubelab/service-kit";

export const podNetworkOptions = {
  socket: { flag: "socket", description: "unix socket of the gRPC endpoint the kubelets call", default: "/run/kubelab/pod-network.sock" },
  metricsPort: {
    flag: "metrics-port",
    description: "HTTP port of /metrics, /healthz and /readyz (on 127.0.0.1: this service runs in the host's network namespace)",
    default: 10262,
    env: "KUBELAB_POD_NETWORK_METRICS_PORT",
  },
  dockerHost: { flag: "docker-host", description: "Docker Engine socket", default: "/var/run/docker.sock", env: "DOCKER_HOST_SOCKET" },
};

export type PodNetworkConfig = ConfigOf<typeof podNetworkOptions>;

export function loadPodNetworkConfig(argv?: string[], env?: NodeJS.ProcessEnv): PodNetworkConfig {
  return loadConfig("pod-network", podNetworkOptions, argv, env) as PodNetworkConfig;
}
