import os from "node:os";
import { ConfigError, loadConfig, type ConfigOf } from "@kubelab/service-kit";

/** kube-proxy's settings, with Kubernetes' flag names where it has the same setting. */
export const kubeProxyOptions = {
  server: { flag: "server", description: "API server address", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  nodeName: { flag: "hostname-override", description: "the node this proxy serves (default: the host name)", default: "" },
  metricsPort: { flag: "metrics-port", description: "HTTP port of /metrics", default: 10249 },
  serviceClusterIpRange: {
    flag: "service-cluster-ip-range",
    description:
      "the ClusterIP range, made local to this node's network namespace so each ClusterIP can be listened on (empty: leave routes alone)",
    default: "",
  },
  nodePortAddresses: { flag: "nodeport-addresses", description: "address NodePorts listen on", default: "0.0.0.0" },
  balancer: {
    flag: "balancer",
    description: "how requests are spread over ready endpoints: least-request (ties in turn) or round-robin",
    default: "least-request",
  },
  connectTimeoutMs: {
    flag: "connect-timeout-ms",
    description: "milliseconds to connect to an endpoint before another is tried",
    default: 3000,
  },
  followNode: {
    flag: "follow-node-container",
    description:
      "exit when the node container whose network this proxy shares starts again (its network is then new; the restart policy brings the proxy back into it)",
    default: true,
  },
  dockerHost: {
    flag: "docker-host",
    description: "Docker Engine socket (for --follow-node-container)",
    default: "/var/run/docker.sock",
    env: "DOCKER_HOST_SOCKET",
  },
};

export type KubeProxyConfig = ConfigOf<typeof kubeProxyOptions>;

export function loadKubeProxyConfig(argv?: string[], env?: NodeJS.ProcessEnv): KubeProxyConfig {
  const cfg = loadConfig("kube-proxy", kubeProxyOptions, argv, env) as KubeProxyConfig;
  if (!cfg.nodeName) cfg.nodeName = os.hostname().toLowerCase();
  if (cfg.balancer !== "least-request" && cfg.balancer !== "round-robin")
    throw new ConfigError(`kube-proxy: --balancer: Unsupported value: "${cfg.balancer}": supported values: "least-request", "round-robin"`);
  return cfg;
}

export function defaultKubeProxyConfig(overrides: Partial<KubeProxyConfig> = {}): KubeProxyConfig {
  return {
    ...loadConfig("kube-proxy", kubeProxyOptions, [], {}),
    nodeName: os.hostname().toLowerCase(),
    followNode: false,
    ...overrides,
  } as KubeProxyConfig;
}
