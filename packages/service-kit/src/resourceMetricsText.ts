// The kubelet's /metrics/resource, Kubernetes' resource metrics endpoint (the kubelet's
// pkg/kubelet/metrics/collectors/resource_metrics.go): rendered by the kubelet, parsed by a
// metrics-server. Both halves live here so the two cannot drift apart.

/** One reading of a cgroup (a container's, a pod's, or the node's). */
export interface ResourceUsage {
  /** Cumulative CPU time consumed, in core-seconds (a counter). */
  cpuUsageSeconds: number;
  /** Working set: memory in use less the inactive file cache, which the kernel can reclaim at will. */
  memoryWorkingSetBytes: number;
  /** When this reading was taken, in milliseconds since the Unix epoch. */
  timestampMs: number;
}

export interface ContainerResourceStats extends ResourceUsage {
  name: string;
  /** When the container started, in seconds since the Unix epoch; 0: unknown (no sample is written). */
  startTimeSeconds: number;
}

export interface PodResourceStats extends ResourceUsage {
  namespace: string;
  name: string;
  /** The renderer's side only: the text carries no pod uid. */
  uid?: string;
  /** The pod's containers; its sandbox is counted in the pod's usage but is not one of them. */
  containers: ContainerResourceStats[];
}

/** What one scrape of /metrics/resource says. */
export interface ResourceMetricsSnapshot {
  /** The node's usage; absent when it could not be read. */
  node?: ResourceUsage;
  pods: PodResourceStats[];
  /** True when the kubelet failed to read its stats (resource_scrape_error 1): the rest may be missing. */
  scrapeError: boolean;
}

/** The content type of the text exposition format, as Kubernetes' components serve it. */
export const RESOURCE_METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const CONTAINER_CPU = "container_cpu_usage_seconds_total";
const CONTAINER_MEMORY = "container_memory_working_set_bytes";
const CONTAINER_START = "container_start_time_seconds";
const NODE_CPU = "node_cpu_usage_seconds_total";
const NODE_MEMORY = "node_memory_working_set_bytes";
const POD_CPU = "pod_cpu_usage_seconds_total";
const POD_MEMORY = "pod_memory_working_set_bytes";
const RESOURCE_SCRAPE_ERROR = "resource_scrape_error";
/** Deprecated in Kubernetes 1.29 for resource_scrape_error; both are written, either is read. */
const SCRAPE_ERROR = "scrape_error";

/** Help texts as Kubernetes words them, with component-base's stability prefix. */
const FAMILIES: Record<string, { help: string; type: "counter" | "gauge" }> = {
  [CONTAINER_CPU]: { help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds", type: "counter" },
  [CONTAINER_MEMORY]: { help: "[STABLE] Current working set of the container in bytes", type: "gauge" },
  [CONTAINER_START]: { help: "[STABLE] Start time of the container since unix epoch in seconds", type: "gauge" },
  [NODE_CPU]: { help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds", type: "counter" },
  [NODE_MEMORY]: { help: "[STABLE] Current working set of the node in bytes", type: "gauge" },
  [POD_CPU]: { help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", type: "counter" },
  [POD_MEMORY]: { help: "[STABLE] Current working set of the pod in bytes", type: "gauge" },
  [RESOURCE_SCRAPE_ERROR]: { help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", type: "gauge" },
  [SCRAPE_ERROR]: { help: "[ALPHA] 1 if there was an error while getting container metrics, 0 otherwise", type: "gauge" },
};

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byPod = (a: PodResourceStats, b: PodResourceStats) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : byName(a, b));

/**
 * The text the kubelet serves at /metrics/resource: families in name order (as the Go client
 * writes them), labels in name order, usage samples stamped with the time of their reading so a
 * consumer computes rates over the readings' interval, not over its own scrape times. A failed
 * scrape writes only the error gauges, as the kubelet's collector returns before any sample.
 */
export function renderResourceMetrics(snapshot: ResourceMetricsSnapshot): string {
  const samples = new Map<string, string[]>(Object.keys(FAMILIES).map((name) => [name, []]));
  const add = (name: string, labels: string, value: number, timestampMs?: number) =>
    samples.get(name)!.push(`${name}${labels} ${formatValue(value)}${timestampMs === undefined ? "" : ` ${Math.round(timestampMs)}`}`);
  if (!snapshot.scrapeError) {
    if (snapshot.node) {
      add(NODE_CPU, "", snapshot.node.cpuUsageSeconds, snapshot.node.timestampMs);
      add(NODE_MEMORY, "", snapshot.node.memoryWorkingSetBytes, snapshot.node.timestampMs);
    }
    for (const pod of [...snapshot.pods].sort(byPod)) {
      const podLabels = formatLabels({ namespace: pod.namespace, pod: pod.name });
      add(POD_CPU, podLabels, pod.cpuUsageSeconds, pod.timestampMs);
      add(POD_MEMORY, podLabels, pod.memoryWorkingSetBytes, pod.timestampMs);
      for (const c of [...pod.containers].sort(byName)) {
        const labels = formatLabels({ container: c.name, namespace: pod.namespace, pod: pod.name });
        add(CONTAINER_CPU, labels, c.cpuUsageSeconds, c.timestampMs);
        add(CONTAINER_MEMORY, labels, c.memoryWorkingSetBytes, c.timestampMs);
        if (c.startTimeSeconds > 0) add(CONTAINER_START, labels, c.startTimeSeconds);
      }
    }
  }
  const errorValue = snapshot.scrapeError ? 1 : 0;
  add(RESOURCE_SCRAPE_ERROR, "", errorValue);
  add(SCRAPE_ERROR, "", errorValue);
  const out: string[] = [];
  for (const [name, lines] of samples) {
    if (!lines.length) continue;
    out.push(`# HELP ${name} ${FAMILIES[name]!.help}`, `# TYPE ${name} ${FAMILIES[name]!.type}`, ...lines);
  }
  return `${out.join("\n")}\n`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}

function formatLabels(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return `{${pairs.join(",")}}`;
}

/** The format's sample line: name, optional {labels}, value, optional millisecond timestamp. */
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/;
const LABEL_PAIR = /[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*(,|$)/y;

/** A line of /metrics/resource this parser refuses, with its 1-based line number. */
export class ResourceMetricsParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "ResourceMetricsParseError";
  }
}

/**
 * Reads the text of a kubelet's /metrics/resource back into a snapshot, for a metrics-server.
 *
 * A parser of its own rather than a package: npm's Prometheus text parsers are unkept
 * (parse-prometheus-text-format's code dates from 2019, untyped, and accepts an unterminated
 * label value or a non-numeric value without complaint; prom2javascript is a single release)
 * and this endpoint writes nine families of plain samples, which a regular expression per line
 * reads exactly. Strict where it matters: a malformed sample line, a bad number or a known
 * family missing a label throws ResourceMetricsParseError. Families it does not know (a real
 * kubelet's swap metrics) are skipped. As metrics-server does, a sample without a timestamp is
 * taken at `scrapeTimeMs`, and a node, pod or container whose CPU or memory sample is missing is
 * left out rather than reported as zero.
 */
export function parseResourceMetrics(text: string, scrapeTimeMs = 0): ResourceMetricsSnapshot {
  type Reading = { cpu?: number; memory?: number; timestampMs: number };
  const node: Reading = { timestampMs: 0 };
  const pods = new Map<string, Reading & { namespace: string; name: string; containers: Map<string, Reading & { start: number }> }>();
  let scrapeError = false;
  const podOf = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    let pod = pods.get(key);
    if (!pod) pods.set(key, (pod = { namespace, name, timestampMs: 0, containers: new Map() }));
    return pod;
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith("#")) continue;
    const fail = (why: string): never => {
      throw new ResourceMetricsParseError(i + 1, `${why}: ${JSON.stringify(line)}`);
    };
    const m = SAMPLE_LINE.exec(line);
    if (!m) fail("not a sample line");
    const [, name, labelText, valueText, timestampText] = m!;
    if (!(name! in FAMILIES)) continue;
    const value = parseValue(valueText!) ?? fail("not a number");
    const timestampMs = timestampText === undefined ? scrapeTimeMs : Number(timestampText);
    const labels = parseLabels(labelText ?? "") ?? fail("malformed labels");
    const label = (key: string) => labels[key] ?? fail(`no ${key} label`);
    const at = (p: Reading) => (p.timestampMs = Math.max(p.timestampMs, timestampMs));
    switch (name) {
      case NODE_CPU:
        node.cpu = value;
        at(node);
        break;
      case NODE_MEMORY:
        node.memory = value;
        at(node);
        break;
      case POD_CPU:
      case POD_MEMORY: {
        const pod = podOf(label("namespace"), label("pod"));
        if (name === POD_CPU) pod.cpu = value;
        else pod.memory = value;
        at(pod);
        break;
      }
      case CONTAINER_CPU:
      case CONTAINER_MEMORY:
      case CONTAINER_START: {
        const pod = podOf(label("namespace"), label("pod"));
        const cname = label("container");
        let c = pod.containers.get(cname);
        if (!c) pod.containers.set(cname, (c = { timestampMs: 0, start: 0 }));
        if (name === CONTAINER_START) c.start = value;
        else {
          if (name === CONTAINER_CPU) c.cpu = value;
          else c.memory = value;
          at(c);
        }
        break;
      }
      case RESOURCE_SCRAPE_ERROR:
      case SCRAPE_ERROR:
        if (value !== 0) scrapeError = true;
    }
  }
  const usage = (p: Reading): ResourceUsage | undefined =>
    p.cpu === undefined || p.memory === undefined
      ? undefined
      : { cpuUsageSeconds: p.cpu, memoryWorkingSetBytes: p.memory, timestampMs: p.timestampMs };
  const out: ResourceMetricsSnapshot = { pods: [], scrapeError };
  const nodeUsage = usage(node);
  if (nodeUsage) out.node = nodeUsage;
  for (const pod of pods.values()) {
    const podUsage = usage(pod);
    if (!podUsage) continue;
    const containers: ContainerResourceStats[] = [];
    for (const [cname, c] of pod.containers) {
      const u = usage(c);
      if (u) containers.push({ name: cname, ...u, startTimeSeconds: c.start });
    }
    out.pods.push({ namespace: pod.namespace, name: pod.name, ...podUsage, containers });
  }
  return out;
}

function parseValue(text: string): number | undefined {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  const v = Number(text);
  return Number.isNaN(v) ? undefined : v;
}

/** `a="x",b="y\"z"` (a trailing comma allowed, as the format does); undefined when malformed. */
function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  if (!text.trim()) return labels;
  LABEL_PAIR.lastIndex = 0;
  while (LABEL_PAIR.lastIndex < text.length) {
    const m = LABEL_PAIR.exec(text);
    if (!m) return undefined;
    const value = unescapeLabelValue(m[2]!);
    if (value === undefined) return undefined;
    labels[m[1]!] = value;
    if (m[3] === "" || /^[ \t]*$/.test(text.slice(LABEL_PAIR.lastIndex))) break;
  }
  return labels;
}

function unescapeLabelValue(text: string): string | undefined {
  let ok = true;
  const out = text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === '"') return '"';
    if (c === "n") return "\n";
    ok = false;
    return "";
  });
  return ok ? out : undefined;
}
