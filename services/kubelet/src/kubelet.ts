import Docker from "dockerode";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { Pod } from "@kubelab/api";
import {
  ApiClient,
  EventRecorder,
  ExponentialBackoff,
  Informer,
  WorkQueue,
  objectKey,
  retryWithBackoff,
  runWorkers,
  sleep,
} from "@kubelab/client";
import { RESOURCE_METRICS_CONTENT_TYPE, startMetricsServer, type Logger, type MetricsServer } from "@kubelab/service-kit";
import type { KubeletConfig } from "./config.js";
import { LeaseRenewer } from "./node/leaseRenewer.js";
import { NodeStatusUpdater, parseLabels, parseTaint } from "./node/nodeStatus.js";
import { PodSyncer } from "./pods/podSyncer.js";
import { ProbeManager, probeFailureMessage } from "./probes/probeManager.js";
import { DockerRuntime } from "./runtime/dockerRuntime.js";
import { startNetworkNamespaceSharers } from "./runtime/networkNamespaceSharers.js";
import { discoverNode } from "./runtime/nodeIdentity.js";
import { KUBELAB_PROVIDER_PREFIX } from "@kubelab/api";
import { PodNetworkPlugin } from "./runtime/podNetworkPlugin.js";
import { startKubeletServer, type KubeletServer } from "./server/logServer.js";
import { inspectNodeFilesystem, isTmpfs } from "./volumes/nodePaths.js";
import { VolumeManager } from "./volumes/volumeManager.js";
import { CgroupReader } from "./stats/cgroupReader.js";
import { ResourceStatsCollector } from "./stats/resourceStatsCollector.js";

export interface RunningKubelet {
  nodeName: string;
  port: number;
  metricsPort: number;
  runtime: DockerRuntime;
  /** Stops the kubelet; its pods keep running (as when a real kubelet restarts). */
  close(): Promise<void>;
}

/** Starts a kubelet: the node registered, its lease renewed, its pods synced. */
export async function startKubelet(cfg: KubeletConfig, log: Logger): Promise<RunningKubelet> {
  const kubelet = await Kubelet.create(cfg, log);
  await kubelet.start();
  return kubelet;
}

/**
 * A node's kubelet. create() finds what the node is (its container, networks, Docker) and wires
 * the parts; start() registers the node and runs its loops, one method each: the pod workers
 * (syncPod per key), Docker's events (the PLEG), the node status heartbeat, the periodic resync,
 * and housekeeping of containers whose pods are gone.
 */
export class Kubelet implements RunningKubelet {
  readonly nodeName: string;
  readonly port: number;
  readonly metricsPort: number;
  private readonly informer: Informer<Pod>;
  private readonly queue = new WorkQueue<string>({ baseDelayMs: 200, maxDelayMs: 30_000 });
  private readonly probes: ProbeManager;
  private readonly syncer: PodSyncer;
  private readonly recorder: EventRecorder;
  private readonly metrics: KubeletMetrics;
  private readonly events = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private lease: LeaseRenewer | undefined;
  private workers: Promise<void> | undefined;
  private housekeepingRun: Promise<void> = Promise.resolve();

  private constructor(
    private readonly cfg: KubeletConfig,
    private readonly log: Logger,
    private readonly docker: Docker,
    readonly runtime: DockerRuntime,
    private readonly client: ApiClient,
    private readonly nodeStatus: NodeStatusUpdater,
    private readonly servers: { logServer: KubeletServer; metrics: MetricsServer; plugin?: PodNetworkPlugin },
    hostIP: string,
    clusterDns: string | undefined,
    volumes: VolumeManager,
  ) {
    this.nodeName = cfg.nodeName;
    this.port = servers.logServer.port;
    this.metricsPort = servers.metrics.port;
    this.metrics = kubeletMetrics(servers.metrics.registry);
    this.recorder = new EventRecorder(client, { component: "kubelet", host: cfg.nodeName }, (e) =>
      log.warn("event not recorded", { error: e }),
    );
    this.informer = new Informer<Pod>(client, "pods", { fieldSelector: `spec.nodeName=${cfg.nodeName}` });
    this.informer.indexer.addIndex("uid", (p) => [p.metadata?.uid ?? ""]);
    this.probes = new ProbeManager({
      onChange: (uid) => this.enqueueUid(uid),
      onFailure: (pod, c, kind, outcome) => {
        const list = pod.spec?.initContainers.includes(c) ? "initContainers" : "containers";
        this.recorder.event(pod, "Warning", "Unhealthy", probeFailureMessage(kind, outcome), `spec.${list}{${c.name}}`);
      },
    });
    this.syncer = new PodSyncer(
      {
        nodeName: cfg.nodeName,
        hostIP,
        pauseImage: cfg.pauseImage,
        crashLoopBackOffBaseMs: cfg.crashLoopBackOffBaseSeconds * 1000,
        crashLoopBackOffMaxMs: cfg.crashLoopBackOffMaxSeconds * 1000,
        imagePullBackOffBaseMs: cfg.imagePullBackOffBaseSeconds * 1000,
        imagePullBackOffMaxMs: cfg.imagePullBackOffMaxSeconds * 1000,
        clusterDns,
        clusterDomain: cfg.clusterDomain,
      },
      client,
      runtime,
      this.informer,
      this.queue,
      this.probes,
      this.recorder,
      log,
      volumes,
    );
    this.informer.addEventHandler({
      onAdd: (p) => this.queue.add(objectKey(p)),
      onUpdate: (_, p) => this.queue.add(objectKey(p)),
      onDelete: () => void this.housekeeping(),
    });
  }

  /** Finds the node (its container, pod network, addresses) and wires the kubelet's parts. */
  static async create(cfg: KubeletConfig, log: Logger): Promise<Kubelet> {
    const docker = new Docker({ socketPath: cfg.dockerHost });
    const found = await discoverNode(docker);
    const podNetwork = cfg.podNetwork || found.podNetwork;
    if (!podNetwork)
      throw new Error(
        "no pod network: set --pod-network, or run the kubelet in a container attached to a network labelled io.kubelab.network=pods",
      );
    const internalIP = cfg.nodeIP || found.internalIP || "127.0.0.1";
    const plugin = cfg.podNetworkPlugin ? new PodNetworkPlugin(cfg.podNetworkPlugin, podNetwork) : undefined;
    const runtime = new DockerRuntime(
      docker,
      {
        nodeName: cfg.nodeName,
        podNetwork,
        nodeContainer: cfg.nodeContainer || found.containerId,
        project: cfg.labProject || found.project || "kubelab",
        serviceRoute: serviceRouteOf(cfg.serviceClusterIpRange, found.podNetworkIP, log),
      },
      plugin,
    );
    const runtimeVersion = `docker://${(await docker.version()).Version}`;
    const client = new ApiClient(cfg.server, { timeoutMs: 15_000 });
    let kubelet: Kubelet | undefined;
    const resourceStats = new ResourceStatsCollector(runtime, new CgroupReader(cfg.hostCgroupRoot), log);
    const metrics = await startMetricsServer(cfg.metricsPort, {
      component: "kubelet",
      ready: () => kubelet?.informer.hasSynced ?? false,
      routes: { "/metrics/resource": async () => ({ contentType: RESOURCE_METRICS_CONTENT_TYPE, body: await resourceStats.render() }) },
    });
    const logServer = await startKubeletServer(runtime, cfg.port);
    const nodeStatus = new NodeStatusUpdater(client, {
      name: cfg.nodeName,
      labels: parseLabels(cfg.nodeLabels),
      taints: cfg.registerWithTaints.map(parseTaint),
      // As a kubelet given --provider-id: the lab's machine is this container.
      providerID: cfg.providerId || (found.containerId ? `${KUBELAB_PROVIDER_PREFIX}${found.containerId}` : ""),
      capacity: { cpu: cfg.capacityCpu, memory: cfg.capacityMemory, pods: String(cfg.maxPods) },
      internalIP,
      kubeletPort: logServer.port,
      runtimeVersion,
    });
    kubelet = new Kubelet(
      cfg,
      log,
      docker,
      runtime,
      client,
      nodeStatus,
      { logServer, metrics, plugin },
      internalIP,
      await resolveClusterDns(cfg.clusterDns, log),
      new VolumeManager(
        runtime,
        client,
        await inspectNodeFilesystem(docker, found.containerId),
        { rootDir: cfg.rootDir, memoryRootDir: cfg.memoryRootDir, memoryIsTmpfs: await isTmpfs(cfg.memoryRootDir) },
        log,
      ),
    );
    kubelet.startNetworkNamespaceSharers(found.containerId);
    log.info("node found", {
      node: cfg.nodeName,
      internalIP,
      podNetwork,
      podNetworkPlugin: cfg.podNetworkPlugin || "none (Docker's)",
      runtime: runtimeVersion,
    });
    return kubelet;
  }

  /** Registers the node, then runs every loop; resolves once the pods it had are adopted. */
  async start(): Promise<void> {
    const node = await registerWithRetry(this.nodeStatus, this.log);
    this.log.info("node registered", { node: this.nodeName });
    this.lease = new LeaseRenewer(this.client, this.nodeName, node.metadata!.uid, this.cfg.nodeLeaseDurationSeconds, (e) =>
      this.log.warn("lease renewal failed", { error: e }),
    );
    this.lease.start();
    void this.watchDockerEvents();
    await this.informer.start();
    // Adoption: containers of pods still bound here are left running and picked up by their sync;
    // containers of pods that are gone are removed before anything new starts.
    await this.housekeeping();
    this.workers = this.runPodWorkers();
    this.timers.push(setInterval(() => void this.postNodeStatus(), this.cfg.nodeStatusUpdateFrequencySeconds * 1000));
    await this.postNodeStatus();
    this.timers.push(setInterval(() => this.resync(), this.cfg.syncFrequencySeconds * 1000));
  }

  async close(): Promise<void> {
    this.timers.forEach((t) => clearTimeout(t));
    this.events.abort();
    this.lease?.stop();
    this.informer.stop();
    this.queue.shutdown();
    await this.workers;
    await this.recorder.flush();
    await this.servers.logServer.close();
    await this.servers.metrics.close();
    this.client.close();
    this.servers.plugin?.close();
  }

  /**
   * A Docker daemon that restarts starts its containers in no particular order, so this node's
   * kube-proxy may have failed to start before the node: checked at once (before anything waits
   * on the API server) and again while the daemon may still be starting the rest.
   */
  private startNetworkNamespaceSharers(nodeContainerId: string | undefined): void {
    if (!nodeContainerId) return;
    for (const ms of [0, 5_000, 15_000, 30_000]) {
      this.timers.push(
        setTimeout(
          () =>
            void startNetworkNamespaceSharers(this.docker, nodeContainerId, this.log).catch((e) =>
              this.log.warn("checking this node's network namespace sharers failed", { error: e }),
            ),
          ms,
        ),
      );
    }
  }

  /** The pod workers: eight at a time, each pod's key handled by one at a time (syncPod). */
  private runPodWorkers(): Promise<void> {
    return runWorkers(
      this.queue,
      8,
      async (key) => {
        const end = this.metrics.syncSeconds.startTimer();
        try {
          await this.syncer.sync(key);
        } finally {
          end();
        }
      },
      (key, err) => {
        this.metrics.syncErrors.inc();
        this.log.warn("pod sync failed", { pod: key, error: err });
      },
    );
  }

  /**
   * Docker's events are the kubelet's PLEG: a container that starts, dies or is OOM-killed brings
   * its pod's sync forward instead of waiting for the next resync.
   */
  private async watchDockerEvents(): Promise<void> {
    while (!this.events.signal.aborted) {
      try {
        await this.runtime.events((uid) => this.enqueueUid(uid), this.events.signal);
      } catch (e) {
        this.log.warn("docker events stream failed", { error: e });
      }
      if (!this.events.signal.aborted) await sleep(1000, this.events.signal);
    }
  }

  /** The node's Ready condition: ready while Docker answers. */
  private async postNodeStatus(): Promise<void> {
    await this.docker
      .ping()
      .then(
        () => this.nodeStatus.update(true, "kubelet is posting ready status"),
        (e: Error) => this.nodeStatus.update(false, `container runtime is down: ${e.message}`),
      )
      .catch((e) => this.log.warn("node status update failed", { error: e }));
  }

  /** Every pod synced again, housekeeping, and the running-pods gauge, every --sync-frequency. */
  private resync(): void {
    for (const p of this.informer.list()) this.queue.add(objectKey(p));
    void this.housekeeping();
    this.runtime
      .list()
      .then((all) => this.metrics.runningPods.set(all.filter((c) => c.type === "sandbox" && c.state === "running").length))
      .catch(() => undefined);
  }

  /** Removes containers of pods this node no longer has; one run at a time. */
  private housekeeping(): Promise<void> {
    this.housekeepingRun = this.housekeepingRun
      .then(() => this.syncer.housekeeping())
      .catch((e) => this.log.warn("housekeeping failed", { error: e }));
    return this.housekeepingRun;
  }

  private enqueueUid(uid: string): void {
    const [pod] = this.informer.indexer.byIndex("uid", uid);
    if (pod) this.queue.add(objectKey(pod));
  }
}

interface KubeletMetrics {
  syncSeconds: Histogram;
  syncErrors: Counter;
  runningPods: Gauge;
}

function kubeletMetrics(registry: Registry): KubeletMetrics {
  return {
    syncSeconds: new Histogram({
      name: "kubelet_pod_worker_duration_seconds",
      help: "Time of one pod sync",
      registers: [registry],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    }),
    syncErrors: new Counter({ name: "kubelet_pod_sync_errors_total", help: "Pod syncs that failed", registers: [registry] }),
    runningPods: new Gauge({ name: "kubelet_running_pods", help: "Pods with a running sandbox", registers: [registry] }),
  };
}

/** The Service range goes to this node's own address on the pod network, where its kube-proxy listens. */
function serviceRouteOf(cidr: string, nodePodIP: string | undefined, log: Logger): { cidr: string; via: string } | undefined {
  if (!cidr) return undefined;
  if (!nodePodIP) {
    log.warn("no address on the pod network: pods get no route to the Service range", { cidr });
    return undefined;
  }
  return { cidr, via: nodePodIP };
}

/** --cluster-dns may name the DNS service's container (the lab's "cluster-dns"): its address, looked up once it answers. */
async function resolveClusterDns(server: string, log: Logger): Promise<string | undefined> {
  if (!server) return undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(server)) return server;
  const { lookup } = await import("node:dns/promises");
  const deadline = Date.now() + 60_000;
  try {
    return await retryWithBackoff(async () => (await lookup(server, { family: 4 })).address, {
      backoff: new ExponentialBackoff({ baseDelayMs: 250, maxDelayMs: 5000 }),
      retry: () => Date.now() <= deadline,
      onRetry: (e) => log.warn("cluster DNS not found yet, retrying", { server, error: e }),
    });
  } catch (e) {
    log.error("cluster DNS not found: pods get Docker's resolver", { server, error: e });
    return undefined;
  }
}

function registerWithRetry(nodeStatus: NodeStatusUpdater, log: Logger) {
  return retryWithBackoff(() => nodeStatus.register(), {
    backoff: new ExponentialBackoff({ baseDelayMs: 500, maxDelayMs: 10_000 }),
    onRetry: (e) => log.warn("unable to register node with the API server, retrying", { error: e }),
  });
}
