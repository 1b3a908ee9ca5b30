import os from "node:os";
import { loadConfig, type ConfigOf } from "@kubelab/service-kit";

/** The kubelet's settings, with the kubelet's own flag names where it has the same setting. */
export const kubeletOptions = {
  server: { flag: "server", description: "API server address", default: "127.0.0.1:6443", env: "KUBELAB_SERVER" },
  nodeName: { flag: "hostname-override", description: "the Node's name (default: the host name)", default: "" },
  nodeLabels: { flag: "node-labels", description: "labels of the Node, key=value,...", default: [] as string[] },
  registerWithTaints: { flag: "register-with-taints", description: "taints of the Node, key=value:Effect,...", default: [] as string[] },
  providerId: {
    flag: "provider-id",
    description: "the Node's spec.providerID, its machine in the cloud (default in the lab: kubelab://<this node's container id>)",
    default: "",
  },
  capacityCpu: { flag: "capacity-cpu", description: "cpu the node claims (emulated; any quantity)", default: "4" },
  capacityMemory: { flag: "capacity-memory", description: "memory the node claims (emulated)", default: "8Gi" },
  maxPods: { flag: "max-pods", description: "pods the node takes", default: 110 },
  port: { flag: "port", description: "port of the kubelet's gRPC endpoint (logs)", default: 10250 },
  metricsPort: { flag: "metrics-port", description: "HTTP port of /metrics, /metrics/resource, /healthz and /readyz", default: 10255 },
  nodeStatusUpdateFrequencySeconds: {
    flag: "node-status-update-frequency",
    description: "seconds between Node status writes",
    default: 10,
    duration: true,
  },
  nodeLeaseDurationSeconds: {
    flag: "node-lease-duration-seconds",
    description: "duration of the node's Lease; renewed every quarter of it",
    default: 40,
  },
  syncFrequencySeconds: { flag: "sync-frequency", description: "seconds between full resyncs of every pod", default: 10, duration: true },
  crashLoopBackOffBaseSeconds: {
    flag: "crash-loop-back-off-base",
    description: "seconds of the first restart back-off (doubles up to the max)",
    default: 10,
    duration: true,
  },
  crashLoopBackOffMaxSeconds: {
    flag: "crash-loop-back-off-max",
    description: "longest restart back-off in seconds",
    default: 300,
    duration: true,
  },
  imagePullBackOffBaseSeconds: {
    flag: "image-pull-back-off-base",
    description: "seconds of the first image pull back-off",
    default: 10,
    duration: true,
  },
  imagePullBackOffMaxSeconds: {
    flag: "image-pull-back-off-max",
    description: "longest image pull back-off in seconds",
    default: 300,
    duration: true,
  },
  hostCgroupRoot: {
    flag: "host-cgroup-root",
    description: "where the host's cgroup filesystem is mounted in the kubelet's container (read for /metrics/resource)",
    default: "/sys/fs/cgroup",
  },
  rootDir: {
    flag: "root-dir",
    description: "directory of the kubelet's files (pods' configMap and downwardAPI volumes), inside the node",
    default: "/var/lib/kubelet",
  },
  memoryRootDir: {
    flag: "memory-root-dir",
    description: "a tmpfs directory for pods' secret and projected volumes, inside the node (never on disk)",
    default: "/var/lib/kubelet-memory",
  },
  dockerHost: { flag: "docker-host", description: "Docker Engine socket", default: "/var/run/docker.sock", env: "DOCKER_HOST_SOCKET" },
  podNetwork: {
    flag: "pod-network",
    description: "Docker network of pods (default: the node container's network labelled io.kubelab.network=pods)",
    default: "",
  },
  podNetworkPlugin: {
    flag: "pod-network-plugin",
    description:
      "unix socket of the pod network plugin (services/pod-network) that wires each sandbox to --pod-network; empty: Docker attaches sandboxes itself",
    default: "",
  },
  nodeContainer: {
    flag: "node-container",
    description: "container whose PID namespace pods join (default: this container, when in one)",
    default: "",
  },
  pauseImage: { flag: "pod-infra-container-image", description: "image of each pod's sandbox container", default: "kubelab/pause:dev" },
  clusterDns: {
    flag: "cluster-dns",
    description: "the cluster DNS server pods use (an IP, or a name resolved at start); empty: Docker's",
    default: "",
  },
  clusterDomain: { flag: "cluster-domain", description: "the cluster's DNS domain, for pods' search path", default: "cluster.local" },
  serviceClusterIpRange: {
    flag: "service-cluster-ip-range",
    description: "the Services' ClusterIP range, routed from each pod to this node's kube-proxy (empty: no route)",
    default: "",
  },
  labProject: {
    flag: "lab-project",
    description: "the lab this node's containers are labelled with (default: the node container's compose project)",
    default: "",
  },
  nodeIP: {
    flag: "node-ip",
    description: "the Node's InternalIP (default: this container's address on the control-plane network)",
    default: "",
  },
};

export type KubeletConfig = ConfigOf<typeof kubeletOptions>;

export function loadKubeletConfig(argv?: string[], env?: NodeJS.ProcessEnv): KubeletConfig {
  const cfg = loadConfig("kubelet", kubeletOptions, argv, env) as KubeletConfig;
  if (!cfg.nodeName) cfg.nodeName = os.hostname().toLowerCase();
  return cfg;
}

export function defaultKubeletConfig(overrides: Partial<KubeletConfig> = {}): KubeletConfig {
  return { ...loadConfig("kubelet", kubeletOptions, [], {}), nodeName: os.hostname().toLowerCase(), ...overrides } as KubeletConfig;
}
