import { Counter, Gauge, type Registry } from "prom-client";

export type LoadBalancerMetrics = ReturnType<typeof loadBalancerMetrics>;

export function loadBalancerMetrics(registry: Registry) {
  return {
    connections: new Counter({
      name: "loadbalancer_connections_total",
      help: "connections a load balancer spliced to a target",
      labelNames: ["service", "target"],
      registers: [registry],
    }),
    refused: new Counter({
      name: "loadbalancer_refused_connections_total",
      help: "connections a load balancer reset: source outside loadBalancerSourceRanges, or no target",
      labelNames: ["service", "reason"],
      registers: [registry],
    }),
    targetErrors: new Counter({
      name: "loadbalancer_target_errors_total",
      help: "failed connections to a target",
      labelNames: ["service", "target", "reason"],
      registers: [registry],
    }),
    loadBalancers: new Gauge({ name: "loadbalancer_count", help: "load balancers served", registers: [registry] }),
  };
}
