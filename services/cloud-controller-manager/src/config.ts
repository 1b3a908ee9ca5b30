import { ConfigError, leaderElectionOptions, loadConfig, parseIPv4Cidr, type ConfigOf } from "@kubelab/service-kit";

/** The cloud-controller-manager's settings, with Kubernetes' names where it has the same setting. */
export const cloudControllerManagerOptions = {
  server: { flag: "server", description: "API server address(es), comma-separated", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  metricsPort: {
    flag: "metrics-port",
    description: "HTTP port of /metrics, /healthz and /readyz (cloud-controller-manager's 10258; on the host's 127.0.0.1)",
    default: 10258,
  },
  metricsAddress: { flag: "metrics-bind-address", description: "address /metrics listens on", default: "127.0.0.1" },
  clusterName: { flag: "cluster-name", description: "the instance prefix for the cluster (names load balancers)", default: "kubernetes" },
  concurrentServiceSyncs: { flag: "concurrent-service-syncs", description: "Services reconciled at once", default: 1 },
  controllers: {
    flag: "controllers",
    description: "controllers to run (service, cloud-node-lifecycle)",
    default: "service,cloud-node-lifecycle",
  },
  nodeMonitorPeriodSeconds: {
    flag: "node-monitor-period",
    description: "how often each node's machine is looked up in the cloud (Docker)",
    default: 5,
    duration: true,
  },
  dockerHost: {
    flag: "docker-host",
    description: "the Docker socket: the lab's cloud, whose containers are the nodes' machines",
    default: "/var/run/docker.sock",
  },
  loadBalancerIpRange: {
    flag: "load-balancer-ip-range",
    description:
      "CIDR LoadBalancer Services get their addresses from (on the host's loopback: 127.0.0.0/8 is local on Linux, so each address can be listened on with no setup)",
    default: "127.0.100.0/24",
    env: "KUBELAB_LOAD_BALANCER_IP_RANGE",
  },
  loadBalancerClass: {
    flag: "load-balancer-class",
    description: "the loadBalancerClass this controller serves besides Services with none",
    default: "kubelab.io/loopback",
  },
  maxConnectionsPerPort: {
    flag: "load-balancer-max-connections",
    description: "connections one load balancer port holds at once; more are refused until some close",
    default: 1024,
  },
  connectTimeoutMs: {
    flag: "load-balancer-connect-timeout-ms",
    description: "milliseconds to connect to a target (node or endpoint) before another is tried",
    default: 3000,
  },
  healthCheckIntervalSeconds: {
    flag: "load-balancer-health-check-interval",
    description: "seconds between two health checks of a node's healthCheckNodePort (externalTrafficPolicy Local)",
    default: 2,
    duration: true,
  },
  ...leaderElectionOptions,
  leaderElectResourceName: {
    flag: "leader-elect-resource-name",
    description: "name of the Lease the copies campaign for",
    default: "cloud-controller-manager",
  },
};

export type CloudControllerManagerConfig = ConfigOf<typeof cloudControllerManagerOptions>;

export function loadCloudControllerManagerConfig(argv?: string[], env?: NodeJS.ProcessEnv): CloudControllerManagerConfig {
  const cfg = loadConfig("cloud-controller-manager", cloudControllerManagerOptions, argv, env) as CloudControllerManagerConfig;
  const r = parseIPv4Cidr(cfg.loadBalancerIpRange);
  if (!r || r.prefixLength < 8 || r.prefixLength > 30)
    throw new ConfigError(
      `cloud-controller-manager: --load-balancer-ip-range: invalid value ${JSON.stringify(cfg.loadBalancerIpRange)}: must be an IPv4 CIDR from /8 to /30`,
    );
  return cfg;
}

export function defaultCloudControllerManagerConfig(overrides: Partial<CloudControllerManagerConfig> = {}): CloudControllerManagerConfig {
  return { ...loadConfig("cloud-controller-manager", cloudControllerManagerOptions, [], {}), ...overrides } as CloudControllerManagerConfig;
}
