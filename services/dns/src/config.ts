import { loadConfig, type ConfigOf } from "@kubelab/service-kit";

export const dnsOptions = {
  server: { flag: "server", description: "API server address", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  bindAddress: { flag: "bind-address", description: "address DNS listens on (UDP and TCP)", default: "0.0.0.0" },
  port: { flag: "port", description: "DNS port", default: 53 },
  metricsPort: { flag: "metrics-port", description: "HTTP port of /metrics, /healthz and /readyz", default: 9153 },
  clusterDomain: { flag: "cluster-domain", description: "the cluster's DNS domain", default: "cluster.local" },
  upstream: { flag: "upstream", description: "resolver for names outside the cluster domain, host[:port] (empty: REFUSED)", default: "" },
};

export type DnsConfig = ConfigOf<typeof dnsOptions>;

export function loadDnsConfig(argv?: string[], env?: NodeJS.ProcessEnv): DnsConfig {
  return loadConfig("dns", dnsOptions, argv, env) as DnsConfig;
}

export function defaultDnsConfig(overrides: Partial<DnsConfig> = {}): DnsConfig {
  return { ...loadConfig("dns", dnsOptions, [], {}), ...overrides } as DnsConfig;
}
