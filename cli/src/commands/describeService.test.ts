import { describe, expect, it } from "vitest";
import { decodeObject, type Endpoints, type Service } from "@kubelab/api";
import { serviceDetails } from "./describeService.js";

describe("describe service", () => {
  it("shows ports with their targets, node ports and ready endpoints", () => {
    const svc = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: {
        type: "NodePort",
        selector: { app: "web" },
        clusterIP: "10.96.0.9",
        clusterIPs: ["10.96.0.9"],
        ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30030, protocol: "TCP" }],
      },
    }).obj as Service;
    const eps = decodeObject({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
      subsets: [
        {
          addresses: [{ ip: "10.1.0.1" }, { ip: "10.1.0.2" }],
          notReadyAddresses: [{ ip: "10.1.0.3" }],
          ports: [{ name: "http", port: 8080 }],
        },
      ],
    }).obj as Endpoints;
    expect(serviceDetails(svc, eps)).toEqual([
      "Selector:           app=web",
      "Type:               NodePort",
      "IP:                 10.96.0.9",
      "IPs:                10.96.0.9",
      "Port:               http  80/TCP",
      "TargetPort:         http/TCP",
      "NodePort:           http  30030/TCP",
      "Endpoints:          10.1.0.1:8080,10.1.0.2:8080",
      "Session Affinity:   None",
    ]);
    expect(serviceDetails(svc, undefined)).toContain("Endpoints:          <none>");
  });

  it("shows a load balancer's ingress, traffic policy, health check port and source ranges", () => {
    const svc = decodeObject({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "default" },
      spec: {
        type: "LoadBalancer",
        selector: { app: "web" },
        clusterIP: "10.96.0.9",
        clusterIPs: ["10.96.0.9"],
        ports: [{ name: "http", port: 80, targetPort: "http", nodePort: 30030, protocol: "TCP" }],
        externalTrafficPolicy: "Local",
        healthCheckNodePort: 30031,
        loadBalancerSourceRanges: ["10.0.0.0/8"],
      },
      status: { loadBalancer: { ingress: [{ ip: "127.0.100.1", ipMode: "Proxy" }] } },
    }).obj as Service;
    const lines = serviceDetails(svc, undefined);
    expect(lines).toContain("LoadBalancer Ingress: 127.0.100.1 (Proxy)");
    expect(lines.slice(-3)).toEqual([
      "External Traffic Policy: Local",
      "HealthCheck NodePort: 30031",
      "LoadBalancer Source Ranges: 10.0.0.0/8",
    ]);
  });
});
