import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** kube-proxy's own metrics: what it carried, where to, how fast, and what failed. */
export function proxyMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: "kubeproxy_http_requests_total",
      help: "HTTP requests proxied, by service port, backend and status code",
      labelNames: ["service", "backend", "code"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "kubeproxy_http_request_duration_seconds",
      help: "Time from a request's arrival to its response's end, by service port",
      labelNames: ["service"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: "kubeproxy_upstream_errors_total",
      help: "Failures talking to a backend (connect, reset, timeout), by service port, backend and reason",
      labelNames: ["service", "backend", "reason"],
      registers: [registry],
    }),
    noEndpoints: new Counter({
      name: "kubeproxy_no_endpoints_total",
      help: "Requests and connections refused because the service port had no ready endpoint",
      labelNames: ["service"],
      registers: [registry],
    }),
    connections: new Counter({
      name: "kubeproxy_tcp_connections_total",
      help: "TCP connections passed through, by service port and backend",
      labelNames: ["service", "backend"],
      registers: [registry],
    }),
    listeners: new Gauge({
      name: "kubeproxy_listeners",
      help: "Addresses and ports this proxy listens on for services",
      registers: [registry],
    }),
    syncSeconds: new Histogram({
      name: "kubeproxy_sync_proxy_rules_duration_seconds",
      help: "Time to apply a change of Services or Endpoints",
      buckets: [0.0001, 0.001, 0.01, 0.1, 1],
      registers: [registry],
    }),
  };
}

export type ProxyMetrics = ReturnType<typeof proxyMetrics>;
