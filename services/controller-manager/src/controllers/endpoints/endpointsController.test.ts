import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { PodSchema, ServiceSchema, type Pod } from "@kubelab/api";
import { desiredSubsets } from "./endpointsController.js";

const pod = (name: string, ip: string, ready: boolean, extra: { deleting?: boolean; phase?: string } = {}): Pod =>
  create(PodSchema, {
    metadata: { name, namespace: "default", uid: `uid-${name}`, deletionTimestamp: extra.deleting ? "2026-01-01T00:00:00Z" : "" },
    spec: { nodeName: "node-1", containers: [{ name: "c", image: "i", ports: [{ name: "http", containerPort: 8080 }] }] },
    status: { phase: extra.phase ?? "Running", podIp: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });

const svc = create(ServiceSchema, {
  metadata: { name: "web", namespace: "default" },
  spec: {
    selector: { app: "web" },
    ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: { kind: { case: "stringValue", value: "http" } } }],
  },
});

describe("desiredSubsets", () => {
  it("lists ready pods as addresses and others as notReadyAddresses, on the resolved named port", () => {
    const [s] = desiredSubsets(svc, [pod("b", "10.0.0.2", true), pod("a", "10.0.0.1", true), pod("c", "10.0.0.3", false)]);
    expect(s!.addresses.map((a) => a.ip)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(s!.notReadyAddresses.map((a) => a.ip)).toEqual(["10.0.0.3"]);
    expect(s!.ports.map((p) => [p.name, p.port, p.protocol])).toEqual([["http", 8080, "TCP"]]);
    expect(s!.addresses[0]!.targetRef?.name).toBe("a");
    expect(s!.addresses[0]!.nodeName).toBe("node-1");
  });

  it("leaves out pods without an IP, finished or being deleted", () => {
    expect(
      desiredSubsets(svc, [
        pod("x", "", true),
        pod("y", "10.0.0.9", true, { deleting: true }),
        pod("z", "10.0.0.8", false, { phase: "Succeeded" }),
      ]),
    ).toEqual([]);
  });
});
