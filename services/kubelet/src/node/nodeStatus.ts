import os from "node:os";
import { create } from "@bufbuild/protobuf";
import { NodeSchema, KUBELAB_VERSION, type Node, type NodeCondition, type Taint, formatTime } from "@kubelab/api";
import { isAlreadyExists, type ApiClient } from "@kubelab/client";

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  taints: Taint[];
  /** The machine the node is, for the cloud controller manager ("" when unknown). */
  providerID: string;
  capacity: Record<string, string>;
  internalIP: string;
  kubeletPort: number;
  runtimeVersion: string;
}

/** "key=value:Effect" or "key:Effect", as --register-with-taints takes them. */
export function parseTaint(s: string): Taint {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(s.trim());
  if (!m)
    throw new Error(
      `--register-with-taints: invalid taint ${JSON.stringify(s)}: must be key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute`,
    );
  return { $typeName: "kubelab.core.v1.Taint", key: m[1]!, value: m[2] ?? "", effect: m[3]!, timeAdded: "" };
}

export function parseLabels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf("=");
    if (i <= 0) throw new Error(`--node-labels: invalid label ${JSON.stringify(kv)}: must be key=value`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function readyCondition(prev: NodeCondition | undefined, ready: boolean, message: string): NodeCondition {
  const status = ready ? "True" : "False";
  const t = formatTime();
  return {
    $typeName: "kubelab.core.v1.NodeCondition",
    type: "Ready",
    status,
    lastHeartbeatTime: t,
    lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : t,
    reason: ready ? "KubeletReady" : "KubeletNotReady",
    message,
  };
}

function statusOf(facts: NodeFacts, prev: Node | undefined, ready: boolean, message: string): Node["status"] {
  const prevReady = prev?.status?.conditions.find((c) => c.type === "Ready");
  return create(NodeSchema, {
    status: {
      capacity: facts.capacity,
      allocatable: facts.capacity,
      phase: "",
      conditions: [readyCondition(prevReady, ready, message)],
      addresses: [
        { type: "InternalIP", address: facts.internalIP },
        { type: "Hostname", address: facts.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { port: facts.kubeletPort } },
      nodeInfo: {
        kubeletVersion: KUBELAB_VERSION,
        containerRuntimeVersion: facts.runtimeVersion,
        kernelVersion: os.release(),
        operatingSystem: "linux",
        architecture: process.arch === "x64" ? "amd64" : process.arch,
        osImage: "kubelab node",
        bootId: bootId,
      },
    },
  }).status;
}

// A new id per kubelet process: a restarted node shows a new boot, as a rebooted machine does.
const bootId = crypto.randomUUID();

/** Registers the Node (create, or take over an existing one) and keeps its status current. */
export class NodeStatusUpdater {
  private last: Node | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly facts: NodeFacts,
  ) {}

  async register(): Promise<Node> {
    const node = create(NodeSchema, {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: this.facts.name,
        labels: { "kubernetes.io/hostname": this.facts.name, "kubernetes.io/os": "linux", ...this.facts.labels },
      },
      spec: { taints: this.facts.taints, providerId: this.facts.providerID },
    });
    node.status = statusOf(this.facts, undefined, false, "kubelet is starting");
    try {
      this.last = await this.client.create(node);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      // Re-registration after a restart: labels are the kubelet's to set; taints others may have added stay.
      // The providerID is set when it was empty (Kubernetes' kubelet never changes it once set).
      const existing = await this.client.get<Node>("nodes", "", this.facts.name);
      this.last = await this.client.patch<Node>("nodes", "", this.facts.name, {
        metadata: { labels: node.metadata!.labels },
        ...(!existing.spec?.providerId && this.facts.providerID ? { spec: { providerID: this.facts.providerID } } : {}),
      });
    }
    return this.last;
  }

  async update(ready: boolean, message: string): Promise<Node> {
    const status = statusOf(this.facts, this.last, ready, message);
    // No resourceVersion: the kubelet owns its node's status, so the write is unconditional.
    const node = create(NodeSchema, { apiVersion: "v1", kind: "Node", metadata: { name: this.facts.name }, status });
    this.last = await this.client.updateStatus(node);
    return this.last;
  }
}
