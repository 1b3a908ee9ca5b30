import { describe, expect, it } from "vitest";
import "./index.js";
import { decodeObject } from "../codec.js";
import { kindFor } from "../registry.js";
import type { Service } from "../gen/kubelab/core/v1/service_pb.js";

const serviceDef = kindFor("v1", "Service")!;
const service = (ports: Array<Record<string, unknown>>) => {
  const s = decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports } }).obj as Service;
  serviceDef.defaults!(s);
  return s;
};

describe("Service defaulting", () => {
  it('defaults a missing or empty targetPort (0 or "", what a typed client sends for none) to the port', () => {
    const s = service([{ port: 80 }, { port: 81, targetPort: 0 }, { port: 82, targetPort: "" }, { port: 83, targetPort: "http" }]);
    expect(s.spec!.ports.map((p) => p.targetPort?.kind.value)).toEqual([80, 81, 82, "http"]);
  });
});

const validate = (spec: Record<string, unknown>) => {
  const s = decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec }).obj as Service;
  serviceDef.defaults!(s);
  return serviceDef.validate!(s).map(String);
};

describe("LoadBalancer Services", () => {
  it("defaults externalTrafficPolicy to Cluster and allocateLoadBalancerNodePorts to true", () => {
    const s = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { type: "LoadBalancer", ports: [{ port: 80 }] },
    }).obj as Service;
    serviceDef.defaults!(s);
    expect(s.spec!.externalTrafficPolicy).toBe("Cluster");
    expect(s.spec!.allocateLoadBalancerNodePorts).toBe(true);
  });

  it("checks loadBalancerSourceRanges as CIDRs, under Kubernetes' own field path", () => {
    expect(validate({ type: "LoadBalancer", ports: [{ port: 80 }], loadBalancerSourceRanges: ["10.0.0.0/8", "nope"] })).toEqual([
      'spec.LoadBalancerSourceRanges[1]: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ]);
    expect(validate({ type: "ClusterIP", ports: [{ port: 80 }], loadBalancerSourceRanges: ["10.0.0.0/8"] })).toEqual([
      "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
    ]);
  });

  it("refuses load-balancer fields on other types, and an unknown traffic policy", () => {
    expect(
      validate({ type: "ClusterIP", ports: [{ port: 80 }], loadBalancerClass: "example.com/lb", externalTrafficPolicy: "Local" }),
    ).toEqual([
      'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
      "spec.loadBalancerClass: Forbidden: may only be used when service type is 'LoadBalancer'",
    ]);
    expect(validate({ type: "LoadBalancer", ports: [{ port: 80 }], externalTrafficPolicy: "Nearest" })).toEqual([
      'spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"',
    ]);
    expect(validate({ type: "LoadBalancer", ports: [{ port: 80 }], healthCheckNodePort: 30001 })).toEqual([
      "spec.healthCheckNodePort: Invalid value: 30001: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
    ]);
  });

  it("prints EXTERNAL-IP as kubectl: <pending>, the ingress addresses, <none> for other types", async () => {
    const { serviceExternalIp } = await import("./service.js");
    const s = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { type: "LoadBalancer", ports: [{ port: 80 }] },
    }).obj as Service;
    expect(serviceExternalIp(s)).toBe("<pending>");
    s.status = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      status: { loadBalancer: { ingress: [{ ip: "127.0.100.1" }] } },
    }).obj.status as Service["status"];
    expect(serviceExternalIp(s)).toBe("127.0.100.1");
    s.spec!.type = "ClusterIP";
    expect(serviceExternalIp(s)).toBe("<none>");
  });

  it("drops what only the old type needed when an update changes the type, as Kubernetes' dropTypeDependentFields", () => {
    const spec = {
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      healthCheckNodePort: 30009,
      allocateLoadBalancerNodePorts: true,
      loadBalancerClass: "kubelab.io/loopback",
      ports: [{ port: 80, nodePort: 30001 }],
    };
    const old = decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec }).obj as Service;
    const next = decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ...spec, type: "ClusterIP" } })
      .obj as Service;
    serviceDef.prepareForUpdate!(next, old);
    serviceDef.defaults!(next);
    expect(serviceDef.validate!(next)).toEqual([]);
    expect(next.spec).toMatchObject({ healthCheckNodePort: 0, externalTrafficPolicy: "", allocateLoadBalancerNodePorts: undefined });
    expect(next.spec!.ports[0]!.nodePort).toBe(0);
    // Local → Cluster keeps the type but drops the health check port.
    const cluster = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "s" },
      spec: { ...spec, externalTrafficPolicy: "Cluster" },
    }).obj as Service;
    serviceDef.prepareForUpdate!(cluster, old);
    expect(cluster.spec!.healthCheckNodePort).toBe(0);
  });
});
