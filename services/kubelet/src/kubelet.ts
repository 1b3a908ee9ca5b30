import Docker from "dockerode";
import { Counter, Gauge, Histogram } from "prom-client";
import type { Pod } from "@kubelab/api";
import { ApiClient, EventRecorder, ExponentialBackoff, Informer, WorkQueue, objectKey, retryWithBackoff, runWorkers } from "@kubelab/client";
import { startMetricsServer, type Logger } from "@kubelab/service-kit";
import type { KubeletConfig } from "./config.js";
import { LeaseRenewer } from "./node/leaseRenewer.js";
import { NodeStatusUpdater, parseLabels, parseTaint } from "./node/nodeStatus.js";
import { PodSyncer } from "./pods/podSyncer.js";
import { ProbeManager, probeFailureMessage } from "./probes/probeManager.js";
import { DockerRuntime } from "./runtime/dockerRuntime.js";
import { startNetworkNamespaceSharers } from "./runtime/networkNamespaceSharers.js";
import { discoverNode } from "./runtime/nodeIdentity.js";
import { PodNetworkPlugin } from "./runtime/podNetworkPlugin.js";
import { startKubeletServer } from "./server/logServer.js";

export interface RunningKubelet {
  nodeName: string;
  port: number;
  metricsPort: number;
  runtime: DockerRuntime;
  /** Stops the kubelet; its pods keep running (as when a real kubelet restarts). */
  close(): Promise<void>;
}

export async function startKubelet(cfg: KubeletConfig, log: Logger): Promise<RunningKubelet> {
  const docker = new Docker({ socketPath: cfg.dockerHost });
  const found = await discoverNode(docker);
  const podNetwork = cfg.podNetwork || found.podNetwork;
  if (!podNetwork) throw new Error("no pod network: set --pod-network, or run the kubelet in a container attached to a network labelled io.kubelab.network=pods");
  const internalIP = cfg.nodeIP || found.internalIP || "127.0.0.1";
  // Before anything waits on the API server: a Docker daemon that restarts starts its containers
  // in no particular order, so this node's kube-proxy may have failed to start before the node;
  // checked again while the daemon may still be starting the rest.
  const sharerChecks = found.containerId
    ? [0, 5_000, 15_000, 30_000].map((ms) =>
        setTimeout(() => void startNetworkNamespaceSharers(docker, found.containerId!, log).catch((e) => log.warn("checking this node's network namespace sharers failed", { error: e })), ms),
      )
    : [];
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
  const recorder = new EventRecorder(client, { component: "kubelet", host: cfg.nodeName }, (e) => log.warn("event not recorded", { error: e }));

  const metrics = await startMetricsServer(cfg.metricsPort, { component: "kubelet", ready: () => informer.hasSynced });
  const syncSeconds = new Histogram({ name: "kubelet_pod_worker_duration_seconds", help: "Time of one pod sync", registers: [metrics.registry], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30] });
  const syncErrors = new Counter({ name: "kubelet_pod_sync_errors_total", help: "Pod syncs that failed", registers: [metrics.registry] });
  const runningPods = new Gauge({ name: "kubelet_running_pods", help: "Pods with a running sandbox", registers: [metrics.registry] });
  const logServer = await startKubeletServer(runtime, cfg.port);

  const nodeStatus = new NodeStatusUpdater(client, {
    name: cfg.nodeName,
    labels: parseLabels(cfg.nodeLabels),
    taints: cfg.registerWithTaints.map(parseTaint),
    capacity: { cpu: cfg.capacityCpu, memory: cfg.capacityMemory, pods: String(cfg.maxPods) },
    internalIP,
    kubeletPort: logServer.port,
    runtimeVersion,
  });
  const node = await registerWithRetry(nodeStatus, log);
  log.info("node registered", { node: cfg.nodeName, internalIP, podNetwork, podNetworkPlugin: cfg.podNetworkPlugin || "none (Docker's)", runtime: runtimeVersion });
  const lease = new LeaseRenewer(client, cfg.nodeName, node.metadata!.uid, cfg.nodeLeaseDurationSeconds, (e) => log.warn("lease renewal failed", { error: e }));
  lease.start();

  const informer = new Informer<Pod>(client, "pods", { fieldSelector: `spec.nodeName=${cfg.nodeName}` });
  informer.indexer.addIndex("uid", (p) => [p.metadata?.uid ?? ""]);
  const queue = new WorkQueue<string>({ baseDelayMs: 200, maxDelayMs: 30_000 });
  const keyOfUid = (uid: string) => {
    const [pod] = informer.indexer.byIndex("uid", uid);
    return pod ? objectKey(pod) : undefined;
  };
  const probes = new ProbeManager({
    onChange: (uid) => {
      const key = keyOfUid(uid);
      if (key) queue.add(key);
    },
    onFailure: (pod, c, kind, outcome) => {
      const list = pod.spec?.initContainers.includes(c) ? "initContainers" : "containers";
      recorder.event(pod, "Warning", "Unhealthy", probeFailureMessage(kind, outcome), `spec.${list}{${c.name}}`);
    },
  });
  const syncer = new PodSyncer(
    {
      nodeName: cfg.nodeName,
      hostIP: internalIP,
      pauseImage: cfg.pauseImage,
      crashLoopBackOffBaseMs: cfg.crashLoopBackOffBase * 1000,
      crashLoopBackOffMaxMs: cfg.crashLoopBackOffMax * 1000,
      imagePullBackOffBaseMs: cfg.imagePullBackOffBase * 1000,
      imagePullBackOffMaxMs: cfg.imagePullBackOffMax * 1000,
      clusterDns: await resolveClusterDns(cfg.clusterDns, log),
      clusterDomain: cfg.clusterDomain,
    },
    client,
    runtime,
    informer,
    queue,
    probes,
    recorder,
    log,
  );

  let housekeepingRun: Promise<void> = Promise.resolve();
  const housekeeping = () => {
    housekeepingRun = housekeepingRun.then(() => syncer.housekeeping()).catch((e) => log.warn("housekeeping failed", { error: e }));
    return housekeepingRun;
  };
  informer.addEventHandler({
    onAdd: (p) => queue.add(objectKey(p)),
    onUpdate: (_, p) => queue.add(objectKey(p)),
    onDelete: () => void housekeeping(),
  });

  // Docker's events are the kubelet's PLEG: a container that starts, dies or is OOM-killed
  // brings its pod's sync forward instead of waiting for the next resync.
  const events = new AbortController();
  void (async () => {
    while (!events.signal.aborted) {
      try {
        await runtime.events((uid) => {
          const key = keyOfUid(uid);
          if (key) queue.add(key);
        }, events.signal);
      } catch (e) {
        log.warn("docker events stream failed", { error: e });
      }
      if (!events.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  await informer.start();
  // Adoption: containers of pods still bound here are left running and picked up by their sync;
  // containers of pods that are gone are removed before anything new starts.
  await housekeeping();
  const workers = runWorkers(
    queue,
    8,
    async (key) => {
      const end = syncSeconds.startTimer();
      try {
        await syncer.sync(key);
      } finally {
        end();
      }
    },
    (key, err) => {
      syncErrors.inc();
      log.warn("pod sync failed", { pod: key, error: err });
    },
  );

  const statusTimer = setInterval(() => {
    docker
      .ping()
      .then(
        () => nodeStatus.update(true, "kubelet is posting ready status"),
        (e: Error) => nodeStatus.update(false, `container runtime is down: ${e.message}`),
      )
      .catch((e) => log.warn("node status update failed", { error: e }));
  }, cfg.nodeStatusUpdateFrequency * 1000);
  await nodeStatus.update(true, "kubelet is posting ready status").catch((e) => log.warn("node status update failed", { error: e }));
  const resyncTimer = setInterval(() => {
    for (const p of informer.list()) queue.add(objectKey(p));
    void housekeeping();
    runtime
      .list()
      .then((all) => runningPods.set(all.filter((c) => c.type === "sandbox" && c.state === "running").length))
      .catch(() => undefined);
  }, cfg.syncFrequency * 1000);

  return {
    nodeName: cfg.nodeName,
    port: logServer.port,
    metricsPort: metrics.port,
    runtime,
    close: async () => {
      clearInterval(statusTimer);
      clearInterval(resyncTimer);
      sharerChecks.forEach(clearTimeout);
      events.abort();
      lease.stop();
      informer.stop();
      queue.shutdown();
      await workers;
      await recorder.flush();
      await logServer.close();
      await metrics.close();
      client.close();
      plugin?.close();
    },
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
