import { create, equals } from "@bufbuild/protobuf";
import { NodeSpecSchema, PodConditionSchema, PodSchema, formatTime, isPodTerminal, type Node, type Pod } from "@kubelab/api";
import { ApiClient, EventRecorder, Informer, isConflict, isNotFound, objectKey } from "@kubelab/client";
import { startMetricsServer, type Logger } from "@kubelab/service-kit";
import { Counter, Gauge, Histogram } from "prom-client";
import { SchedulerCache } from "./cache/schedulerCache.js";
import type { SchedulerConfig } from "./config.js";
import { findNode } from "./framework/findNode.js";
import type { FilterPlugin, ScorePlugin } from "./framework/types.js";
import { defaultFilters, defaultScores } from "./plugins/index.js";
import { SchedulingQueue } from "./queue/schedulingQueue.js";

export interface RunningScheduler {
  metricsPort: number;
  close(): Promise<void>;
}

export interface SchedulerPlugins {
  filters?: FilterPlugin[];
  scores?: ScorePlugin[];
}


/** Changes that may let a waiting pod fit: readiness, cordoning, taints, labels, capacity. */
function schedulingRelevantChange(a: Node, b: Node): boolean {
  const ready = (n: Node) => n.status?.conditions.find((c) => c.type === "Ready")?.status;
  return (
    ready(a) !== ready(b) ||
    !equals(NodeSpecSchema, a.spec ?? create(NodeSpecSchema), b.spec ?? create(NodeSpecSchema)) ||
    JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels) ||
    JSON.stringify(a.status?.allocatable) !== JSON.stringify(b.status?.allocatable)
  );
}

export async function startScheduler(cfg: SchedulerConfig, log: Logger, plugins: SchedulerPlugins = {}): Promise<RunningScheduler> {
  const filters = plugins.filters ?? defaultFilters;
  const scores = plugins.scores ?? defaultScores;
  const client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
  const recorder = new EventRecorder(client, { component: cfg.schedulerName }, (e) => log.warn("event not recorded", { error: e }));
  const cache = new SchedulerCache();
  const queue = new SchedulingQueue(cfg.podInitialBackoffSeconds * 1000, cfg.podMaxBackoffSeconds * 1000);

  const nodes = new Informer<Node>(client, "nodes");
  const pods = new Informer<Pod>(client, "pods");
  const metrics = await startMetricsServer(cfg.metricsPort, { component: "scheduler", ready: () => nodes.hasSynced && pods.hasSynced });
  const attempts = new Counter({ name: "scheduler_schedule_attempts_total", help: "Scheduling attempts by result", labelNames: ["result"], registers: [metrics.registry] });
  const latency = new Histogram({
    name: "scheduler_pod_scheduling_duration_seconds",
    help: "From the pod's creation to its binding",
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [metrics.registry],
  });
  new Gauge({ name: "scheduler_pending_pods", help: "Pods waiting to be scheduled", registers: [metrics.registry], collect() { this.set(queue.pending); } });

  const ours = (p: Pod) => !p.spec?.nodeName && !p.metadata?.deletionTimestamp && (p.spec?.schedulerName || "default-scheduler") === cfg.schedulerName;
  
  nodes.addEventHandler({
    onAdd: (n) => {
      cache.setNode(n);
      queue.moveAllToActive();
    },
    onUpdate: (a, b) => {
      cache.setNode(b);
      if (schedulingRelevantChange(a, b)) queue.moveAllToActive();
    },
    onDelete: (n) => cache.removeNode(n.metadata!.name),
  });
  pods.addEventHandler({
    onAdd: (p) => (ours(p) ? queue.add(objectKey(p)) : cache.setPod(p)),
    onUpdate: (a, b) => {
      if (b.spec?.nodeName) {
        queue.delete(objectKey(b));
        cache.setPod(b);
        if (isPodTerminal(b) && !isPodTerminal(a)) queue.moveAllToActive();
      } else if (ours(b) && a.metadata?.generation !== b.metadata?.generation) {
        queue.add(objectKey(b));
      } else if (!ours(b)) {
        queue.delete(objectKey(b));
      }
    },
    onDelete: (p) => {
      queue.delete(objectKey(p));
      cache.removePod(p.metadata!.uid);
      if (p.spec?.nodeName) queue.moveAllToActive();
    },
  });

  await nodes.start();
  await pods.start();

  /** PodScheduled=False with the reason, written only when it says something new. */
  async function markUnschedulable(pod: Pod, message: string): Promise<void> {
    const old = pod.status?.conditions.find((c) => c.type === "PodScheduled");
    if (old?.status === "False" && old.reason === "Unschedulable" && old.message === message) return;
    const status = create(PodSchema, { status: pod.status }).status!;
    const cond = create(PodConditionSchema, {
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message,
      lastTransitionTime: old?.status === "False" ? old.lastTransitionTime : formatTime(),
      lastProbeTime: "",
    });
    status.conditions = [...status.conditions.filter((c) => c.type !== "PodScheduled"), cond];
    const m = pod.metadata!;
    try {
      await client.updateStatus(create(PodSchema, { apiVersion: "v1", kind: "Pod", metadata: { name: m.name, namespace: m.namespace, uid: m.uid }, status }));
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  let inflight = 0;
  let slotFree: (() => void) | undefined;
  const binds = new Set<Promise<void>>();

  function bind(pod: Pod, key: string, node: string) {
    const m = pod.metadata!;
    inflight++;
    const p = client
      .bind(m.namespace, m.name, node, m.uid)
      .then(() => {
        attempts.inc({ result: "scheduled" });
        const created = Date.parse(m.creationTimestamp);
        if (Number.isFinite(created)) latency.observe(Math.max(0, (Date.now() - created) / 1000));
        recorder.event(pod, "Normal", "Scheduled", `Successfully assigned ${m.namespace}/${m.name} to ${node}`);
      })
      .catch((e) => {
        cache.forget(m.uid);
        // Someone else placed it, or it is gone: nothing left to do.
        if (isConflict(e) || isNotFound(e)) return;
        attempts.inc({ result: "error" });
        log.warn("binding failed", { pod: key, node, error: e });
        queue.addUnschedulable(key);
      })
      .finally(() => {
        inflight--;
        binds.delete(p);
        slotFree?.();
      });
    binds.add(p);
  }

  const loop = (async () => {
    for (;;) {
      const key = await queue.pop();
      if (key === undefined) return;
      const pod = pods.get(key);
      if (!pod || !ours(pod)) continue;
      const placement = findNode(pod, cache.list(), filters, scores);
      if (placement.node !== undefined) {
        cache.assume(pod, placement.node);
        while (inflight >= cfg.parallelism) await new Promise<void>((r) => (slotFree = r));
        bind(pod, key, placement.node);
        continue;
      }
      attempts.inc({ result: "unschedulable" });
      queue.addUnschedulable(key);
      recorder.event(pod, "Warning", "FailedScheduling", placement.message);
      markUnschedulable(pod, placement.message).catch((e) => log.warn("pod status update failed", { pod: key, error: e }));
    }
  })();
  log.info("scheduler started", { server: cfg.server, nodes: cache.nodeCount });

  return {
    metricsPort: metrics.port,
    close: async () => {
      queue.close();
      await loop;
      await Promise.all(binds);
      nodes.stop();
      pods.stop();
      await recorder.flush();
      await metrics.close();
      client.close();
    },
  };
}
