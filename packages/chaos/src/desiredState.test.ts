import { create } from "@bufbuild/protobuf";
import {
  type Deployment,
  DeploymentSchema,
  type Endpoints,
  EndpointsSchema,
  type Node,
  NodeSchema,
  type Pod,
  PodSchema,
  type Service,
  ServiceSchema,
} from "@kubelab/api";
import { describe, expect, it } from "vitest";
import { type ClusterObjects, desiredStateProblems } from "./desiredState.js";

const NS = "chaos-probe";

/** A Deployment whose status matches its spec unless `status` says otherwise. */
function deployment(
  name: string,
  over: {
    replicas?: number;
    generation?: number;
    status?: Partial<Record<"observedGeneration" | "replicas" | "updatedReplicas" | "readyReplicas" | "availableReplicas", number>>;
    deleting?: boolean;
  } = {},
): Deployment {
  const replicas = over.replicas ?? 3;
  const generation = over.generation ?? 2;
  return create(DeploymentSchema, {
    metadata: { name, namespace: NS, generation, deletionTimestamp: over.deleting ? "2025-01-01T00:00:00Z" : "" },
    spec: { replicas, selector: { matchLabels: { app: name } } },
    status: {
      observedGeneration: generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      ...over.status,
    },
  });
}

function node(name: string, ready = "True", taints: Array<{ key: string; effect: string }> = []): Node {
  return create(NodeSchema, {
    metadata: { name },
    spec: { taints },
    status: { conditions: [{ type: "MemoryPressure", status: "False" }, ...(ready ? [{ type: "Ready", status: ready }] : [])] },
  });
}

function pod(
  name: string,
  ip: string,
  over: { ready?: boolean; labels?: Record<string, string>; namespace?: string; deleting?: boolean } = {},
): Pod {
  return create(PodSchema, {
    metadata: {
      name,
      namespace: over.namespace ?? NS,
      labels: over.labels ?? { app: "web" },
      deletionTimestamp: over.deleting ? "2025-01-01T00:00:00Z" : "",
    },
    status: { phase: "Running", podIp: ip, conditions: [{ type: "Ready", status: over.ready === false ? "False" : "True" }] },
  });
}

const service = (name: string, selector: Record<string, string> = { app: "web" }): Service =>
  create(ServiceSchema, { metadata: { name, namespace: NS }, spec: { selector, ports: [{ port: 80 }] } });

const endpoints = (name: string, ready: string[], notReady: string[] = []): Endpoints =>
  create(EndpointsSchema, {
    metadata: { name, namespace: NS },
    subsets: [{ addresses: ready.map((ip) => ({ ip })), notReadyAddresses: notReady.map((ip) => ({ ip })), ports: [{ port: 80 }] }],
  });

/** A cluster where everything holds: a Deployment of three, two Ready nodes, a Service listing its three pods. */
function healthy(): ClusterObjects {
  return {
    deployments: [deployment("web")],
    pods: [pod("web-1", "10.1.0.1"), pod("web-2", "10.1.0.2"), pod("web-3", "10.1.0.3")],
    services: [service("web")],
    endpoints: [endpoints("web", ["10.1.0.1", "10.1.0.2", "10.1.0.3"])],
    nodes: [node("node-1"), node("node-2")],
  };
}

describe("desiredStateProblems", () => {
  it("finds nothing wrong in a healthy cluster", () => {
    expect(desiredStateProblems(healthy())).toEqual([]);
  });

  const deployments: Array<{ name: string; deployment: Deployment; want: string[] }> = [
    {
      name: "a Deployment with fewer Ready replicas than it wants",
      deployment: deployment("web", { status: { readyReplicas: 2, availableReplicas: 2 } }),
      want: ["deployment chaos-probe/web: 2/3 ready, 3 updated, 2 available, 3 in all"],
    },
    {
      name: "a Deployment with a replica not yet updated",
      deployment: deployment("web", { status: { updatedReplicas: 2 } }),
      want: ["deployment chaos-probe/web: 3/3 ready, 2 updated, 3 available, 3 in all"],
    },
    {
      name: "a Deployment with a replica Ready but not yet available",
      deployment: deployment("web", { status: { availableReplicas: 2 } }),
      want: ["deployment chaos-probe/web: 3/3 ready, 3 updated, 2 available, 3 in all"],
    },
    {
      name: "a Deployment with a surplus replica left from a rollout",
      deployment: deployment("web", { status: { replicas: 4 } }),
      want: ["deployment chaos-probe/web: 3/3 ready, 3 updated, 3 available, 4 in all"],
    },
    {
      name: "a Deployment whose controller has not observed its spec yet (and no other complaint until it has)",
      deployment: deployment("web", { generation: 3, status: { observedGeneration: 2, readyReplicas: 0 } }),
      want: ["deployment chaos-probe/web: generation 3 not observed yet"],
    },
    {
      name: "a Deployment without a status",
      deployment: create(DeploymentSchema, { metadata: { name: "web", namespace: NS }, spec: { replicas: 2 } }),
      want: ["deployment chaos-probe/web: 0/2 ready, 0 updated, 0 available, 0 in all"],
    },
  ];
  it.each(deployments)("reports $name", ({ deployment: d, want }) => {
    expect(desiredStateProblems({ ...healthy(), deployments: [d] })).toEqual(want);
  });

  it("takes a Deployment without replicas to want one, as Kubernetes defaults it", () => {
    const d = create(DeploymentSchema, {
      metadata: { name: "web", namespace: NS },
      spec: {},
      status: { replicas: 1, updatedReplicas: 1, readyReplicas: 0, availableReplicas: 0 },
    });
    expect(desiredStateProblems({ ...healthy(), deployments: [d] })).toEqual([
      "deployment chaos-probe/web: 0/1 ready, 1 updated, 0 available, 1 in all",
    ]);
  });

  it("passes a Deployment scaled to zero with nothing running", () => {
    const d = deployment("idle", { replicas: 0 });
    expect(desiredStateProblems({ ...healthy(), deployments: [d] })).toEqual([]);
  });

  it("ignores a Deployment being deleted", () => {
    const d = deployment("web", { deleting: true, status: { readyReplicas: 0 } });
    expect(desiredStateProblems({ ...healthy(), deployments: [d] })).toEqual([]);
  });

  const nodes: Array<{ name: string; node: Node; want: string[] }> = [
    { name: "a node whose Ready is Unknown", node: node("node-2", "Unknown"), want: ["node node-2: Ready=Unknown"] },
    { name: "a node that is not Ready", node: node("node-2", "False"), want: ["node node-2: Ready=False"] },
    { name: "a node without a Ready condition, as Unknown", node: node("node-2", ""), want: ["node node-2: Ready=Unknown"] },
    {
      name: "a Ready node still tainted unreachable",
      node: node("node-2", "True", [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }]),
      want: ["node node-2: tainted node.kubernetes.io/unreachable:NoExecute"],
    },
    {
      name: "a Ready node still tainted not-ready",
      node: node("node-2", "True", [{ key: "node.kubernetes.io/not-ready", effect: "NoSchedule" }]),
      want: ["node node-2: tainted node.kubernetes.io/not-ready:NoSchedule"],
    },
    {
      name: "an Unknown node with both of the lifecycle controller's taints",
      node: node("node-2", "Unknown", [
        { key: "node.kubernetes.io/unreachable", effect: "NoSchedule" },
        { key: "node.kubernetes.io/unreachable", effect: "NoExecute" },
      ]),
      want: [
        "node node-2: Ready=Unknown",
        "node node-2: tainted node.kubernetes.io/unreachable:NoSchedule, node.kubernetes.io/unreachable:NoExecute",
      ],
    },
  ];
  it.each(nodes)("reports $name", ({ node: n, want }) => {
    expect(desiredStateProblems({ ...healthy(), nodes: [node("node-1"), n] })).toEqual(want);
  });

  it("does not count a taint someone put on the node on purpose", () => {
    const n = node("node-2", "True", [{ key: "dedicated", effect: "NoSchedule" }]);
    expect(desiredStateProblems({ ...healthy(), nodes: [n] })).toEqual([]);
  });

  it("does not count a node a fault keeps down on purpose", () => {
    const n = node("node-2", "Unknown", [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }]);
    expect(desiredStateProblems({ ...healthy(), nodes: [node("node-1"), n] }, new Set(["node-2"]))).toEqual([]);
    expect(desiredStateProblems({ ...healthy(), nodes: [node("node-1", "False"), n] }, new Set(["node-2"]))).toEqual([
      "node node-1: Ready=False",
    ]);
  });

  const services: Array<{ name: string; change: (c: ClusterObjects) => void; want: string[] }> = [
    {
      name: "a Ready selected pod missing from the endpoints",
      change: (c) => (c.endpoints = [endpoints("web", ["10.1.0.1", "10.1.0.3"])]),
      want: ["endpoints chaos-probe/web: missing 10.1.0.2"],
    },
    {
      name: "a Ready selected pod listed only as not ready",
      change: (c) => (c.endpoints = [endpoints("web", ["10.1.0.1", "10.1.0.3"], ["10.1.0.2"])]),
      want: ["endpoints chaos-probe/web: missing 10.1.0.2"],
    },
    {
      name: "an address of a pod that is not Ready",
      change: (c) => (c.pods[1] = pod("web-2", "10.1.0.2", { ready: false })),
      want: ["endpoints chaos-probe/web: not Ready or gone 10.1.0.2"],
    },
    {
      name: "an address of a pod being deleted",
      change: (c) => (c.pods[1] = pod("web-2", "10.1.0.2", { deleting: true })),
      want: ["endpoints chaos-probe/web: not Ready or gone 10.1.0.2"],
    },
    {
      name: "an address of a pod that is gone, beside a pod that is missing",
      change: (c) => (c.endpoints = [endpoints("web", ["10.1.0.1", "10.1.0.2", "10.1.0.9"])]),
      want: ["endpoints chaos-probe/web: missing 10.1.0.3; not Ready or gone 10.1.0.9"],
    },
    {
      name: "a Service whose Endpoints do not exist",
      change: (c) => (c.endpoints = []),
      want: ["endpoints chaos-probe/web: missing 10.1.0.1, 10.1.0.2, 10.1.0.3"],
    },
  ];
  it.each(services)("reports $name", ({ change, want }) => {
    const c = healthy();
    change(c);
    expect(desiredStateProblems(c)).toEqual(want);
  });

  it("does not expect the endpoints to list a Ready pod the selector does not match, or one in another namespace", () => {
    const c = healthy();
    c.pods.push(pod("db-1", "10.1.0.7", { labels: { app: "db" } }), pod("web-x", "10.1.0.8", { namespace: "other" }));
    expect(desiredStateProblems(c)).toEqual([]);
  });

  it("does not expect the endpoints to list a Ready pod without an IP yet", () => {
    const c = healthy();
    c.pods.push(pod("web-4", ""));
    expect(desiredStateProblems(c)).toEqual([]);
  });

  it("ignores a Service without a selector and its hand-made Endpoints", () => {
    const c = healthy();
    c.services.push(service("external", {}));
    c.endpoints.push(endpoints("external", ["192.0.2.10"]));
    expect(desiredStateProblems(c)).toEqual([]);
  });

  it("reports every problem at once", () => {
    const c = healthy();
    c.deployments = [deployment("web", { status: { readyReplicas: 2 } })];
    c.nodes = [node("node-1", "Unknown")];
    c.endpoints = [endpoints("web", ["10.1.0.1"])];
    expect(desiredStateProblems(c)).toHaveLength(3);
  });
});
