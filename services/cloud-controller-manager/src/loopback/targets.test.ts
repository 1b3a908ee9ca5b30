import { describe, expect, it } from "vitest";
import { endpoints, lbService, node } from "../testing/factories.js";
import { loadBalancerNodes, portTargets } from "./targets.js";

const nodes = loadBalancerNodes([
  node("node-2", "172.20.0.3"),
  node("node-1", "172.20.0.2"),
  node("node-3", "172.20.0.4", false),
  node("node-4", "172.20.0.5", true, { "node.kubernetes.io/exclude-from-external-load-balancers": "" }),
]);
const eps = endpoints([
  ["10.0.0.1", "node-1"],
  ["10.0.0.2", "node-2"],
]);
const targets = (svc: ReturnType<typeof lbService>, healthy: string[] = []) =>
  portTargets(svc, svc.spec!.ports[0]!, nodes, new Set(healthy), eps).map((t) => `${t.name}=${t.ip}:${t.port}`);

describe("loadBalancerNodes", () => {
  it("leaves out nodes labelled exclude-from-external-load-balancers, sorted by name", () => {
    expect(nodes.map((n) => n.metadata!.name)).toEqual(["node-1", "node-2", "node-3"]);
  });
});

describe("portTargets", () => {
  it("sends externalTrafficPolicy Cluster to every Ready node's NodePort", () => {
    expect(targets(lbService())).toEqual(["node-1=172.20.0.2:30001", "node-2=172.20.0.3:30001"]);
  });

  it("sends externalTrafficPolicy Local only to nodes whose health check answered 200", () => {
    const local = lbService({ externalTrafficPolicy: "Local", healthCheckNodePort: 30009 });
    expect(targets(local, ["node-2"])).toEqual(["node-2=172.20.0.3:30001"]);
    expect(targets(local, [])).toEqual([]);
  });

  it("sends straight to the ready endpoints when the Service has no NodePorts", () => {
    const direct = lbService({ allocateLoadBalancerNodePorts: false, ports: [{ port: 80, protocol: "TCP" }] });
    expect(targets(direct)).toEqual(["pod-10.0.0.1@10.0.0.1=10.0.0.1:8080", "pod-10.0.0.2@10.0.0.2=10.0.0.2:8080"]);
  });
});
