import { describe, expect, it } from "vitest";
import { decodeObject, type Endpoints, type Service } from "@kubelab/api";
import { healthCheckServices, servicePortRules } from "./servicePorts.js";

const service = (spec: Record<string, unknown>): Service =>
  decodeObject({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec }).obj as Service;
const endpoints = (addresses: Array<[string, string]>): Endpoints =>
  decodeObject({
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name: "web", namespace: "default" },
    subsets: [{ addresses: addresses.map(([ip, nodeName]) => ({ ip, nodeName })), ports: [{ port: 8080, protocol: "TCP" }] }],
  }).obj as Endpoints;
const lb = (policy: string) =>
  service({
    type: "LoadBalancer",
    clusterIP: "10.96.0.10",
    externalTrafficPolicy: policy,
    healthCheckNodePort: 30009,
    ports: [{ port: 80, nodePort: 30001, protocol: "TCP" }],
  });
const eps = endpoints([
  ["10.0.0.1", "node-1"],
  ["10.0.0.2", "node-2"],
  ["10.0.0.3", "node-2"],
]);

describe("servicePortRules", () => {
  it("gives a LoadBalancer's NodePort every endpoint with externalTrafficPolicy Cluster", () => {
    const [rule] = servicePortRules(lb("Cluster"), eps, "node-1");
    expect(rule!.nodePort).toBe(30001);
    expect(rule!.nodePortBackends.map((b) => b.ip)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  });

  it("sends a Local NodePort to this node's endpoints only, while the ClusterIP keeps them all", () => {
    const [rule] = servicePortRules(lb("Local"), eps, "node-2");
    expect(rule!.nodePortBackends.map((b) => b.ip)).toEqual(["10.0.0.2", "10.0.0.3"]);
    expect(rule!.backends).toHaveLength(3);
    expect(servicePortRules(lb("Local"), eps, "node-3")[0]!.nodePortBackends).toEqual([]);
  });
});

describe("healthCheckServices", () => {
  it("counts each Local LoadBalancer's ready endpoints on this node, by its healthCheckNodePort", () => {
    const m = healthCheckServices([lb("Local"), lb("Cluster")], () => eps, "node-2");
    expect([...m]).toEqual([[30009, { namespace: "default", name: "web", localEndpoints: 2 }]]);
  });
});
