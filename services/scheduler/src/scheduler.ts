import os from "node:os";
import { create, equals } from "@bufbuild/protobuf";
import {
  NodeSpecSchema,
  PodConditionSchema,
  PodSchema,
  formatTime,
  isPodTerminal,
  type Node,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type Pod,
  type StorageClass,
} from "@kubelab/api";
import {
  ApiClient,
  EventRecorder,
  Informer,
  isConflict,
  isNotFound,
  leaderElectionConfig,
  objectKey,
  runLeaderElected,
  type LeaderElection,
} from "@kubelab/client";
import { leaderElectionStatus, startMetricsServer, type Logger, type MetricsServer } from "@kubelab/service-kit";
import { Counter, Gauge, Histogram } from "prom-client";
import { SchedulerCache } from "./cache/schedulerCache.js";
import type { SchedulerConfig } from "./config.js";
import { findNode } from "./framework/findNode.js";
import type { FilterPlugin, ScorePlugin } from "./framework/types.js";
import { defaultFilters, defaultScores } from "./plugins/index.js";
import { volumeBinding, type VolumeListers } from "./plugins/volumeBinding.js";
import { bindPodVolumes } from "./framework/volumeBinder.js";
import { SchedulingQueue } from "./queue/schedulingQueue.js";

export interface RunningScheduler {
  metricsPort: number;
  /** Resolves when this copy lost its leader lease and must exit. */
  fatal?: Promise<string>;
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

/** A PreBind step failed: the pod was not bound and goes back to the queue. */
class PreBindError extends Error {}

/**
 * Starts a scheduler: its informers synced (a standby keeps its cache warm), then the scheduling
 * loop, at once or, with --leader-elect, only while this copy holds the kube-scheduler Lease.
 */
export async function startScheduler(cfg: SchedulerConfig, log: Logger, plugins: SchedulerPlugins = {}): Promise<RunningScheduler> {
  let scheduler: Scheduler | undefined;
  let election: LeaderElection | undefined;
  const metrics = await startMetricsServer(cfg.metricsPort, { component: "scheduler", ready: () => scheduler?.ready ?? false });
  scheduler = new Scheduler(cfg, log, plugins, metrics);
  await scheduler.sync();
  if (!cfg.leaderElect) scheduler.lead();
  else {
    const s = scheduler;
    election = runLeaderElected(s.client, leaderElectionConfig(cfg), { lead: () => s.lead(), stopActing: () => s.stopActing() }, log);
    leaderElectionStatus(metrics.registry, cfg.leaderElectResourceName, () => election!.elector.isLeader);
  }
  return {
    metricsPort: metrics.port,
    fatal: election?.lost,
    close: async () => {
      await election?.stop();
      await scheduler.close();
    },
  };
}

/**
 * kube-scheduler, reduced to what the lab needs. The constructor wires the informers into the
 * cache and the scheduling queue; start() syncs them and runs scheduleLoop, which pops a pod,
 * finds a node (filters, then scores), assumes it in the cache and binds asynchronously
 * (bindPod), or records why it fits nowhere (markUnschedulable) and backs it off.
 */
export class Scheduler {
  readonly client: ApiClient;
  private readonly recorder: EventRecorder;
  private readonly cache = new SchedulerCache();
  private readonly queue: SchedulingQueue;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;
  private readonly volumeListers: VolumeListers;
  private readonly filters: FilterPlugin[];
  private readonly scores: ScorePlugin[];
  private readonly attempts: Counter<"result">;
  private readonly latency: Histogram;
  private readonly binds = new Set<Promise<void>>();
  private inflight = 0;
  private slotFree: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly cfg: SchedulerConfig,
    private readonly log: Logger,
    plugins: SchedulerPlugins,
    private readonly metrics: MetricsServer,
  ) {
    this.client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
    this.claims = new Informer<PersistentVolumeClaim>(this.client, "persistentvolumeclaims");
    this.volumes = new Informer<PersistentVolume>(this.client, "persistentvolumes");
    this.classes = new Informer<StorageClass>(this.client, "storageclasses");
    this.volumeListers = {
      claim: (ns, name) => this.claims.get(`${ns}/${name}`),
      volume: (name) => this.volumes.get(name),
      volumes: () => this.volumes.list(),
      storageClass: (name) => this.classes.get(name),
    };
    // VolumeBinding comes last, as in kube-scheduler's default profile.
    this.filters = plugins.filters ?? [...defaultFilters, volumeBinding(this.volumeListers)];
    this.scores = plugins.scores ?? defaultScores;
    // reportingInstance as kube-scheduler writes it: which copy placed the pod.
    this.recorder = new EventRecorder(
      this.client,
      { component: cfg.schedulerName, instance: `${cfg.schedulerName}-${os.hostname()}` },
      (e) => log.warn("event not recorded", { error: e }),
    );
    this.queue = new SchedulingQueue(cfg.podInitialBackoffSeconds * 1000, cfg.podMaxBackoffSeconds * 1000);
    this.nodes = new Informer<Node>(this.client, "nodes");
    this.pods = new Informer<Pod>(this.client, "pods");
    this.attempts = new Counter({
      name: "scheduler_schedule_attempts_total",
      help: "Scheduling attempts by result",
      labelNames: ["result"],
      registers: [metrics.registry],
    });
    this.latency = new Histogram({
      name: "scheduler_pod_scheduling_duration_seconds",
      help: "From the pod's creation to its binding",
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
      registers: [metrics.registry],
    });
    const queue = this.queue;
    new Gauge({
      name: "scheduler_pending_pods",
      help: "Pods waiting to be scheduled",
      registers: [metrics.registry],
      collect() {
        this.set(queue.pending);
      },
    });
    this.watchNodes();
    this.watchPods();
    this.watchVolumes();
  }

  get ready(): boolean {
    return this.nodes.hasSynced && this.pods.hasSynced && this.claims.hasSynced && this.volumes.hasSynced && this.classes.hasSynced;
  }

  /** Lists and watches nodes and pods: the cache and the queue fill, nothing is scheduled yet. */
  async sync(): Promise<void> {
    await this.nodes.start();
    await this.pods.start();
    await Promise.all([this.claims.start(), this.volumes.start(), this.classes.start()]);
  }

  /** Starts the scheduling loop (this copy leads, or runs alone). */
  lead(): void {
    this.loop ??= this.scheduleLoop();
    this.log.info("scheduling", { server: this.cfg.server, nodes: this.cache.nodeCount });
  }

  /** Stops scheduling at once: no pod is placed after this returns, and binds in flight are done. */
  async stopActing(): Promise<void> {
    this.queue.close();
    await this.loop;
    await Promise.all(this.binds);
  }

  async close(): Promise<void> {
    await this.stopActing();
    this.nodes.stop();
    this.pods.stop();
    this.claims.stop();
    this.volumes.stop();
    this.classes.stop();
    await this.recorder.flush();
    await this.metrics.close();
    this.client.close();
  }

  /** A pod this scheduler must place: unbound, not being deleted, and asking for it by name. */
  private ours(p: Pod): boolean {
    return !p.spec?.nodeName && !p.metadata?.deletionTimestamp && (p.spec?.schedulerName || "default-scheduler") === this.cfg.schedulerName;
  }

  /** Nodes feed the cache; one that appears or changes in a way that matters gives waiting pods another look. */
  private watchNodes(): void {
    this.nodes.addEventHandler({
      onAdd: (n) => {
        this.cache.setNode(n);
        this.queue.moveAllToActive();
      },
      onUpdate: (a, b) => {
        this.cache.setNode(b);
        if (schedulingRelevantChange(a, b)) this.queue.moveAllToActive();
      },
      onDelete: (n) => this.cache.removeNode(n.metadata!.name),
    });
  }

  /** Unbound pods of ours go to the queue; bound pods to the cache, freeing room when they finish or go. */
  private watchPods(): void {
    this.pods.addEventHandler({
      onAdd: (p) => (this.ours(p) ? this.queue.add(objectKey(p)) : this.cache.setPod(p)),
      onUpdate: (a, b) => {
        if (b.spec?.nodeName) {
          this.queue.delete(objectKey(b));
          this.cache.setPod(b);
          if (isPodTerminal(b) && !isPodTerminal(a)) this.queue.moveAllToActive();
        } else if (this.ours(b) && a.metadata?.generation !== b.metadata?.generation) {
          this.queue.add(objectKey(b));
        } else if (!this.ours(b)) {
          this.queue.delete(objectKey(b));
        }
      },
      onDelete: (p) => {
        this.queue.delete(objectKey(p));
        this.cache.removePod(p.metadata!.uid);
        if (p.spec?.nodeName) this.queue.moveAllToActive();
      },
    });
  }

  /** A claim bound, a volume freed or a class added may let a waiting pod fit: it gets another look. */
  private watchVolumes(): void {
    const changed = () => this.queue.moveAllToActive();
    for (const inf of [this.claims, this.volumes, this.classes] as Informer<PersistentVolumeClaim | PersistentVolume | StorageClass>[])
      inf.addEventHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
  }

  /** One pod at a time: place it, or say why it fits nowhere; at most --parallelism binds in flight. */
  private async scheduleLoop(): Promise<void> {
    for (;;) {
      const key = await this.queue.pop();
      if (key === undefined) return;
      const pod = this.pods.get(key);
      if (!pod || !this.ours(pod)) continue;
      const placement = findNode(pod, this.cache.list(), this.filters, this.scores);
      if (placement.node !== undefined) {
        this.cache.assume(pod, placement.node);
        while (this.inflight >= this.cfg.parallelism) await new Promise<void>((r) => (this.slotFree = r));
        this.bindPod(pod, key, placement.node);
        continue;
      }
      this.attempts.inc({ result: "unschedulable" });
      this.queue.addUnschedulable(key);
      this.recorder.event(pod, "Warning", "FailedScheduling", placement.message);
      this.markUnschedulable(pod, placement.message).catch((e) => this.log.warn("pod status update failed", { pod: key, error: e }));
    }
  }

  /** Binds in the background; a lost race or a vanished pod ends there, another failure backs the pod off. */
  private bindPod(pod: Pod, key: string, node: string): void {
    const m = pod.metadata!;
    this.inflight++;
    const nodeObj = this.nodes.get(node);
    const p = (
      nodeObj ? bindPodVolumes(pod, nodeObj, this.volumeListers, this.client, this.cfg.bindTimeoutSeconds * 1000) : Promise.resolve()
    )
      .catch((e: unknown) => {
        // PreBind failed: the pod goes back to the queue, as kube-scheduler's failure handler does.
        throw new PreBindError(`running PreBind plugin "VolumeBinding": ${e instanceof Error ? e.message : String(e)}`);
      })
      .then(() => this.client.bind(m.namespace, m.name, node, m.uid))
      .then(() => {
        this.attempts.inc({ result: "scheduled" });
        const created = Date.parse(m.creationTimestamp);
        if (Number.isFinite(created)) this.latency.observe(Math.max(0, (Date.now() - created) / 1000));
        this.recorder.event(pod, "Normal", "Scheduled", `Successfully assigned ${m.namespace}/${m.name} to ${node}`);
      })
      .catch((e) => {
        this.cache.forget(m.uid);
        if (e instanceof PreBindError) {
          this.attempts.inc({ result: "error" });
          this.recorder.event(pod, "Warning", "FailedScheduling", e.message);
          this.queue.addUnschedulable(key);
          return;
        }
        // Someone else placed it, or it is gone: nothing left to do.
        if (isConflict(e) || isNotFound(e)) return;
        this.attempts.inc({ result: "error" });
        this.log.warn("binding failed", { pod: key, node, error: e });
        this.queue.addUnschedulable(key);
      })
      .finally(() => {
        this.inflight--;
        this.binds.delete(p);
        this.slotFree?.();
      });
    this.binds.add(p);
  }

  /** PodScheduled=False with the reason, written only when it says something new. */
  private async markUnschedulable(pod: Pod, message: string): Promise<void> {
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
      await this.client.updateStatus(
        create(PodSchema, { apiVersion: "v1", kind: "Pod", metadata: { name: m.name, namespace: m.namespace, uid: m.uid }, status }),
      );
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }
}
