import table from "text-table";
import { parseQuantity, topCpu, topMemory, type Node, type NodeMetrics, type PodMetrics } from "@kubelab/api";

// kubectl top's tables (k8s.io/kubectl/pkg/metricsutil/metrics_printer.go): usage in millicores and
// mebibytes, a node's share of its allocatable, sorted by --sort-by (largest first).

export type TopSortBy = "" | "cpu" | "memory";

const HSEP = "   ";
const sumOf = (m: PodMetrics, resource: string) => m.containers.reduce((s, c) => s + parseQuantity(c.usage[resource] || "0"), 0);

function sortByUsage<T>(items: T[], sortBy: TopSortBy, usage: (t: T, resource: string) => number): T[] {
  if (!sortBy) return items;
  return [...items].sort((a, b) => usage(b, sortBy) - usage(a, sortBy));
}

const percent = (used: number, of: string | undefined) => {
  const total = of ? parseQuantity(of) : 0;
  return total > 0 ? `${Math.floor((used / total) * 100)}%` : "<unknown>";
};

/** `kubectl top node`: every node, with `<unknown>` for a node metrics-server has no reading of yet. */
export function topNodesTable(nodes: Node[], metrics: NodeMetrics[], opts: { sortBy: TopSortBy; headers: boolean }): string {
  const byName = new Map(metrics.map((m) => [m.metadata?.name ?? "", m]));
  const usage = (n: Node, r: string) => parseQuantity(byName.get(n.metadata?.name ?? "")?.usage[r] || "0");
  const rows: string[][] = opts.headers ? [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]] : [];
  const known = nodes.filter((n) => byName.has(n.metadata?.name ?? ""));
  for (const n of sortByUsage(known, opts.sortBy, usage)) {
    const m = byName.get(n.metadata!.name)!;
    const alloc = n.status?.allocatable ?? {};
    rows.push([
      n.metadata!.name,
      topCpu(m.usage.cpu),
      percent(parseQuantity(m.usage.cpu || "0"), alloc.cpu ?? n.status?.capacity.cpu),
      topMemory(m.usage.memory),
      percent(parseQuantity(m.usage.memory || "0"), alloc.memory ?? n.status?.capacity.memory),
    ]);
  }
  for (const n of nodes.filter((x) => !byName.has(x.metadata?.name ?? ""))) {
    rows.push([n.metadata?.name ?? "", "<unknown>", "<unknown>", "<unknown>", "<unknown>"]);
  }
  return table(rows, { hsep: HSEP });
}

/** `kubectl top pod`: a row per pod (or per container with --containers), NAMESPACE first with -A. */
export function topPodsTable(
  metrics: PodMetrics[],
  opts: { sortBy: TopSortBy; headers: boolean; allNamespaces: boolean; containers: boolean },
): string {
  const ns = (m: PodMetrics) => (opts.allNamespaces ? [m.metadata?.namespace ?? ""] : []);
  const header = [
    ...(opts.allNamespaces ? ["NAMESPACE"] : []),
    ...(opts.containers ? ["POD", "NAME"] : ["NAME"]),
    "CPU(cores)",
    "MEMORY(bytes)",
  ];
  const rows: string[][] = opts.headers ? [header] : [];
  for (const m of sortByUsage(metrics, opts.sortBy, sumOf)) {
    if (!opts.containers) {
      rows.push([...ns(m), m.metadata?.name ?? "", topCpu(String(sumOf(m, "cpu"))), topMemory(String(sumOf(m, "memory")))]);
      continue;
    }
    for (const c of m.containers) rows.push([...ns(m), m.metadata?.name ?? "", c.name, topCpu(c.usage.cpu), topMemory(c.usage.memory)]);
  }
  return table(rows, { hsep: HSEP });
}
