import { NodeMetricsSchema, PodMetricsSchema, type NodeMetrics, type PodMetrics } from "../gen/kubelab/metrics/v1beta1/metrics_pb.js";
import { parseQuantity } from "../quantity.js";
import { registerKind } from "../registry.js";
import { age } from "./print.js";

// metrics.k8s.io/v1beta1: served by metrics-server through the API server (Kubernetes' aggregation
// layer), read-only and never stored. The registry's resource names carry the group, as kubectl's
// "pods.metrics.k8s.io" does, because "pods" and "nodes" already name the core kinds.

/** metrics-server's forms: cpu in nanocores ("152734n"), memory in kibibytes ("65536Ki"). */
export function cpuUsageQuantity(cores: number): string {
  return `${Math.max(0, Math.round(cores * 1e9))}n`;
}
export function memoryUsageQuantity(bytes: number): string {
  return `${Math.max(0, Math.round(bytes / 1024))}Ki`;
}

/** kubectl top's figures: cpu in millicores ("250m"), memory in mebibytes ("64Mi"). */
export function topCpu(quantity: string | undefined): string {
  return `${Math.round(parseQuantity(quantity || "0") * 1000)}m`;
}
export function topMemory(quantity: string | undefined): string {
  return `${Math.floor(parseQuantity(quantity || "0") / (1024 * 1024))}Mi`;
}

registerKind<NodeMetrics>({
  kind: "NodeMetrics",
  apiVersion: "metrics.k8s.io/v1beta1",
  resource: "nodes.metrics.k8s.io",
  singular: "nodemetrics",
  shortNames: [],
  namespaced: false,
  aggregated: true,
  schema: NodeMetricsSchema,
  nameRule: "subdomain",
  hasStatus: false,
  columns: [
    { name: "CPU", value: (m) => topCpu(m.usage.cpu) },
    { name: "MEMORY", value: (m) => topMemory(m.usage.memory) },
    { name: "WINDOW", value: (m) => m.window },
    { name: "AGE", value: (m, now) => age(m.metadata?.creationTimestamp, now), wide: true },
  ],
});

const podTotal = (m: PodMetrics, resource: string) => m.containers.reduce((sum, c) => sum + parseQuantity(c.usage[resource] || "0"), 0);

registerKind<PodMetrics>({
  kind: "PodMetrics",
  apiVersion: "metrics.k8s.io/v1beta1",
  resource: "pods.metrics.k8s.io",
  singular: "podmetrics",
  shortNames: [],
  namespaced: true,
  aggregated: true,
  schema: PodMetricsSchema,
  nameRule: "subdomain",
  hasStatus: false,
  columns: [
    { name: "CPU", value: (m) => topCpu(String(podTotal(m, "cpu"))) },
    { name: "MEMORY", value: (m) => topMemory(String(podTotal(m, "memory"))) },
    { name: "WINDOW", value: (m) => m.window },
  ],
});
