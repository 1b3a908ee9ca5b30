import type { Counter, Histogram } from "prom-client";
import type { ProxyMetrics } from "./proxyMetrics.js";

type Child = { inc(): void };
type Tree = Map<string, Tree | Child>;

/** prom-client children per label set, kept: prom-client hashes the labels on every call otherwise. */
export class MetricCache {
  private readonly counters = new Map<Counter<string>, Tree>();
  private readonly histograms = new Map<string, { observe(v: number): void }>();
  constructor(private readonly m: ProxyMetrics) {}
  count(c: Counter<string>, ...labels: string[]): void {
    let node = this.counters.get(c);
    if (!node) this.counters.set(c, (node = new Map()));
    for (let i = 0; i < labels.length - 1; i++) {
      let next = node.get(labels[i]!) as Tree | undefined;
      if (!next) node.set(labels[i]!, (next = new Map()));
      node = next;
    }
    const last = labels[labels.length - 1]!;
    let child = node.get(last) as Child | undefined;
    if (!child) node.set(last, (child = c.labels(...labels)));
    child.inc();
  }
  observe(h: Histogram<string>, label: string, v: number): void {
    let child = this.histograms.get(label);
    if (!child) this.histograms.set(label, (child = h.labels(label)));
    child.observe(v);
  }
  get metrics(): ProxyMetrics {
    return this.m;
  }
}
