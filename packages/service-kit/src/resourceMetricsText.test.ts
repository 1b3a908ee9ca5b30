import { describe, expect, it } from "vitest";
import {
  type ResourceMetricsSnapshot,
  ResourceMetricsParseError,
  parseResourceMetrics,
  renderResourceMetrics,
} from "./resourceMetricsText.js";

const snapshot: ResourceMetricsSnapshot = {
  node: { cpuUsageSeconds: 60.405297, memoryWorkingSetBytes: 1_048_576_000, timestampMs: 1_694_097_426_613 },
  pods: [
    {
      namespace: "kube-system",
      name: "coredns-55fddfc79-6zvpw",
      uid: "u1",
      cpuUsageSeconds: 2.5,
      memoryWorkingSetBytes: 15_000_000,
      timestampMs: 1_694_097_427_600,
      containers: [
        {
          name: "coredns",
          cpuUsageSeconds: 2.014006654,
          memoryWorkingSetBytes: 14_565_376,
          startTimeSeconds: 1_694_096_687.7057285,
          timestampMs: 1_694_097_427_596,
        },
      ],
    },
    {
      namespace: "default",
      name: "web",
      cpuUsageSeconds: 0.25,
      memoryWorkingSetBytes: 4096,
      timestampMs: 1_694_097_427_000,
      containers: [
        {
          name: "sidecar",
          cpuUsageSeconds: 0.05,
          memoryWorkingSetBytes: 1024,
          startTimeSeconds: 1_694_097_000,
          timestampMs: 1_694_097_427_000,
        },
        { name: "app", cpuUsageSeconds: 0.1, memoryWorkingSetBytes: 2048, startTimeSeconds: 0, timestampMs: 1_694_097_427_000 },
      ],
    },
  ],
  scrapeError: false,
};

describe("renderResourceMetrics", () => {
  it("writes Kubernetes' families in name order, labels in name order, usage stamped with its reading's time", () => {
    const text = renderResourceMetrics(snapshot);
    expect(text).toBe(
      [
        "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
        "# TYPE container_cpu_usage_seconds_total counter",
        'container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 0.1 1694097427000',
        'container_cpu_usage_seconds_total{container="sidecar",namespace="default",pod="web"} 0.05 1694097427000',
        'container_cpu_usage_seconds_total{container="coredns",namespace="kube-system",pod="coredns-55fddfc79-6zvpw"} 2.014006654 1694097427596',
        "# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes",
        "# TYPE container_memory_working_set_bytes gauge",
        'container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 2048 1694097427000',
        'container_memory_working_set_bytes{container="sidecar",namespace="default",pod="web"} 1024 1694097427000',
        'container_memory_working_set_bytes{container="coredns",namespace="kube-system",pod="coredns-55fddfc79-6zvpw"} 14565376 1694097427596',
        "# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds",
        "# TYPE container_start_time_seconds gauge",
        'container_start_time_seconds{container="sidecar",namespace="default",pod="web"} 1694097000',
        'container_start_time_seconds{container="coredns",namespace="kube-system",pod="coredns-55fddfc79-6zvpw"} 1694096687.7057285',
        "# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds",
        "# TYPE node_cpu_usage_seconds_total counter",
        "node_cpu_usage_seconds_total 60.405297 1694097426613",
        "# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes",
        "# TYPE node_memory_working_set_bytes gauge",
        "node_memory_working_set_bytes 1048576000 1694097426613",
        "# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds",
        "# TYPE pod_cpu_usage_seconds_total counter",
        'pod_cpu_usage_seconds_total{namespace="default",pod="web"} 0.25 1694097427000',
        'pod_cpu_usage_seconds_total{namespace="kube-system",pod="coredns-55fddfc79-6zvpw"} 2.5 1694097427600',
        "# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes",
        "# TYPE pod_memory_working_set_bytes gauge",
        'pod_memory_working_set_bytes{namespace="default",pod="web"} 4096 1694097427000',
        'pod_memory_working_set_bytes{namespace="kube-system",pod="coredns-55fddfc79-6zvpw"} 15000000 1694097427600',
        "# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise",
        "# TYPE resource_scrape_error gauge",
        "resource_scrape_error 0",
        "# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise",
        "# TYPE scrape_error gauge",
        "scrape_error 0",
        "",
      ].join("\n"),
    );
  });

  it("writes only the error gauges for a failed scrape, as the kubelet's collector returns before any sample", () => {
    const text = renderResourceMetrics({ ...snapshot, scrapeError: true });
    expect(text.split("\n").filter((l) => l && !l.startsWith("#"))).toEqual(["resource_scrape_error 1", "scrape_error 1"]);
  });

  it("escapes backslashes, quotes and newlines in label values", () => {
    const pod = { ...snapshot.pods[1]!, name: 'a"b\\c\nd', containers: [] };
    expect(renderResourceMetrics({ pods: [pod], scrapeError: false })).toContain(
      'pod_cpu_usage_seconds_total{namespace="default",pod="a\\"b\\\\c\\nd"} 0.25',
    );
  });
});

describe("parseResourceMetrics", () => {
  it("reads back what the renderer wrote (less the pod uid, which the text does not carry)", () => {
    const parsed = parseResourceMetrics(renderResourceMetrics(snapshot));
    const sorted = (s: ResourceMetricsSnapshot) =>
      s.pods
        .map(({ uid: _uid, ...p }) => ({ ...p, containers: [...p.containers].sort((a, b) => a.name.localeCompare(b.name)) }))
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(parsed.node).toEqual(snapshot.node);
    expect(parsed.scrapeError).toBe(false);
    expect(sorted(parsed)).toEqual(sorted(snapshot));
  });

  it("round-trips label values that need escaping", () => {
    const pod = { ...snapshot.pods[1]!, name: 'a"b\\c\nd}', containers: [] };
    expect(parseResourceMetrics(renderResourceMetrics({ pods: [pod], scrapeError: false })).pods[0]!.name).toBe('a"b\\c\nd}');
  });

  it("reads a failed scrape from either error gauge", () => {
    expect(parseResourceMetrics("scrape_error 1\n").scrapeError).toBe(true);
    expect(parseResourceMetrics("resource_scrape_error 1\n").scrapeError).toBe(true);
    expect(parseResourceMetrics(renderResourceMetrics({ pods: [], scrapeError: true }))).toEqual({ pods: [], scrapeError: true });
  });

  it("takes a sample without a timestamp at the scrape's time, as metrics-server does", () => {
    const parsed = parseResourceMetrics("node_cpu_usage_seconds_total 3\nnode_memory_working_set_bytes 5e+07\n", 1_700_000_000_000);
    expect(parsed.node).toEqual({ cpuUsageSeconds: 3, memoryWorkingSetBytes: 50_000_000, timestampMs: 1_700_000_000_000 });
  });

  it("leaves out a node, pod or container whose cpu or memory sample is missing rather than report zero", () => {
    const parsed = parseResourceMetrics(
      [
        "node_cpu_usage_seconds_total 3 1",
        'pod_cpu_usage_seconds_total{namespace="d",pod="p"} 1 1',
        'pod_cpu_usage_seconds_total{namespace="d",pod="q"} 1 1',
        'pod_memory_working_set_bytes{namespace="d",pod="q"} 1 1',
        'container_cpu_usage_seconds_total{container="c",namespace="d",pod="q"} 1 1',
      ].join("\n"),
    );
    expect(parsed.node).toBeUndefined();
    expect(parsed.pods).toEqual([
      { namespace: "d", name: "q", cpuUsageSeconds: 1, memoryWorkingSetBytes: 1, timestampMs: 1, containers: [] },
    ]);
  });

  it("skips families it does not know, such as a real kubelet's swap metrics, and comments", () => {
    const text = [
      "# a comment",
      'container_swap_usage_bytes{container="c",namespace="d",pod="p"} 0 1',
      "node_swap_usage_bytes 0 1",
      "scrape_error 0",
    ].join("\n");
    expect(parseResourceMetrics(text)).toEqual({ pods: [], scrapeError: false });
  });

  it("accepts the format's spacing, a trailing comma and the special values", () => {
    const parsed = parseResourceMetrics(
      [
        'pod_cpu_usage_seconds_total{ namespace = "d" , pod="p", }\t+Inf 5',
        'pod_memory_working_set_bytes{pod="p",namespace="d"} NaN 6',
      ].join("\n"),
    );
    expect(parsed.pods[0]).toMatchObject({ cpuUsageSeconds: Number.POSITIVE_INFINITY, timestampMs: 6 });
    expect(parsed.pods[0]!.memoryWorkingSetBytes).toBeNaN();
  });

  it.each([
    ["a line that is not a sample", "node_cpu_usage_seconds_total"],
    ["a value that is not a number", "node_cpu_usage_seconds_total abc 1"],
    ["an unterminated label value", 'pod_cpu_usage_seconds_total{namespace="d,pod="p"} 1'],
    ["labels without a comma between them", 'pod_cpu_usage_seconds_total{namespace="d" pod="p"} 1'],
    ["an unknown escape", 'pod_cpu_usage_seconds_total{namespace="d\\t",pod="p"} 1'],
    ["a known family without its labels", 'container_cpu_usage_seconds_total{namespace="d",pod="p"} 1'],
  ])("refuses %s, naming the line", (_, line) => {
    expect(() => parseResourceMetrics(`scrape_error 0\n${line}\n`)).toThrow(ResourceMetricsParseError);
    expect(() => parseResourceMetrics(`scrape_error 0\n${line}\n`)).toThrow(/^line 2: /);
  });
});
