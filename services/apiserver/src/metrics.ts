import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface ApiMetrics {
  requests: Counter<"verb" | "resource" | "code">;
  latency: Histogram<"verb" | "resource">;
  watchers: Gauge;
  objects: Gauge;
  terminatedWatchers: Counter<"resource" | "reason">;
  watchCacheEvents: Gauge;
  watchCacheBytes: Gauge;
}

/** Kubernetes' own metric names where it has them (apiserver_request_total ...). */
export function apiMetrics(
  registry: Registry,
  counts: { watchers: () => number; objects: () => number; history: () => { events: number; bytes: number } },
): ApiMetrics {
  return {
    requests: new Counter({
      name: "apiserver_request_total",
      help: "Requests by verb, resource and gRPC code",
      labelNames: ["verb", "resource", "code"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "apiserver_request_duration_seconds",
      help: "Request latency by verb and resource",
      labelNames: ["verb", "resource"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    watchers: new Gauge({
      name: "apiserver_registered_watchers",
      help: "Open watch streams",
      registers: [registry],
      collect() {
        this.set(counts.watchers());
      },
    }),
    objects: new Gauge({
      name: "apiserver_storage_objects",
      help: "Objects in the watch cache",
      registers: [registry],
      collect() {
        this.set(counts.objects());
      },
    }),
    terminatedWatchers: new Counter({
      name: "apiserver_terminated_watchers_total",
      help: "Watchers closed for not taking their events in time (reason: pending-bytes or stalled)",
      labelNames: ["resource", "reason"],
      registers: [registry],
    }),
    watchCacheEvents: new Gauge({
      name: "apiserver_watch_cache_events",
      help: "Events the watch cache keeps for watchers resuming from an older resourceVersion",
      registers: [registry],
      collect() {
        this.set(counts.history().events);
      },
    }),
    watchCacheBytes: new Gauge({
      name: "apiserver_watch_cache_event_bytes",
      help: "Bytes those events hold (their objects and previous versions, encoded)",
      registers: [registry],
      collect() {
        this.set(counts.history().bytes);
      },
    }),
  };
}
