import { describe, expect, it } from "vitest";
import { decodeObject, kindFor, type Service } from "@kubelab/api";
import { ServiceAllocator } from "./serviceAllocator.js";

const serviceDef = kindFor("v1", "Service")!;
const service = (spec: Record<string, unknown>): Service => {
  const s = decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "default" }, spec }).obj as Service;
  serviceDef.defaults!(s);
  return s;
};
const allocator = (inUse: Service[] = []) =>
  new ServiceAllocator({ clusterIpRange: "10.96.0.0/24", nodePortRange: "30000-30009" }, () => inUse);

describe("ServiceAllocator for LoadBalancer Services", () => {
  it("gives a LoadBalancer NodePorts, and a healthCheckNodePort only with externalTrafficPolicy Local", () => {
    const cluster = service({ type: "LoadBalancer", ports: [{ port: 80 }] });
    expect(allocator().assign(cluster, undefined, new Set())).toEqual([]);
    expect(cluster.spec!.ports[0]!.nodePort).toBeGreaterThanOrEqual(30000);
    expect(cluster.spec!.healthCheckNodePort).toBe(0);

    const local = service({ type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ port: 80 }] });
    expect(allocator().assign(local, undefined, new Set())).toEqual([]);
    expect(local.spec!.healthCheckNodePort).toBeGreaterThanOrEqual(30000);
    expect(local.spec!.healthCheckNodePort).not.toBe(local.spec!.ports[0]!.nodePort);
    expect(allocator().claims(local)).toContain(`servicenodeports/${local.spec!.healthCheckNodePort}`);
  });

  it("gives no NodePorts when allocateLoadBalancerNodePorts is false, but keeps one asked for", () => {
    const s = service({
      type: "LoadBalancer",
      allocateLoadBalancerNodePorts: false,
      ports: [
        { name: "a", port: 80 },
        { name: "b", port: 81, nodePort: 30003 },
      ],
    });
    expect(allocator().assign(s, undefined, new Set())).toEqual([]);
    expect(s.spec!.ports.map((p) => p.nodePort)).toEqual([0, 30003]);
  });

  it("never hands out a port another Service holds as its healthCheckNodePort", () => {
    const ports = Array.from({ length: 9 }, (_, i) => ({ name: `p${i}`, port: 80 + i, nodePort: 30000 + i }));
    const holder = service({ type: "NodePort", ports: [{ port: 1, nodePort: 30009 }] });
    const other = service({ type: "LoadBalancer", externalTrafficPolicy: "Local", ports });
    const errs = allocator([holder]).assign(other, undefined, new Set());
    expect(errs.map(String)).toEqual(["spec.healthCheckNodePort: Invalid value: 0: failed to allocate a nodePort: range is full"]);
  });

  it("keeps the healthCheckNodePort across an update that leaves it out", () => {
    const a = allocator();
    const old = service({ type: "LoadBalancer", externalTrafficPolicy: "Local", ports: [{ port: 80 }] });
    a.assign(old, undefined, new Set());
    const same = service({ type: "LoadBalancer", externalTrafficPolicy: "Local", clusterIP: old.spec!.clusterIp, ports: [{ port: 80 }] });
    a.assign(same, old, new Set());
    expect(same.spec!.healthCheckNodePort).toBe(old.spec!.healthCheckNodePort);
  });

  it("frees a LoadBalancer's NodePorts when it becomes a ClusterIP Service", () => {
    const a = allocator();
    const old = service({ type: "LoadBalancer", ports: [{ port: 80 }] });
    a.assign(old, undefined, new Set());
    const next = service({ type: "ClusterIP", clusterIP: old.spec!.clusterIp, ports: [{ port: 80 }] });
    a.assign(next, old, new Set());
    expect(next.spec!.ports[0]!.nodePort).toBe(0);
  });
});
