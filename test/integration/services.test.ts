import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeObject, type Service } from "@kubelab/api";
import type { ApiClient } from "@kubelab/client";
import type { RunningApiServer } from "@kubelab/apiserver";
import { EtcdCluster } from "../support/etcdCluster.js";
import { startTestApiServer } from "../support/apiServer.js";

const svc = (name: string, spec: Record<string, unknown>) =>
  decodeObject({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  }).obj as Service;

describe("Service addresses", () => {
  const etcd = new EtcdCluster();
  let server: RunningApiServer;
  let client: ApiClient;

  beforeAll(async () => {
    await etcd.start();
    // A /28 has 14 usable addresses: small enough to fill.
    ({ server, client } = await startTestApiServer(etcd.endpoints, {
      serviceClusterIpRange: "10.100.0.0/28",
      serviceNodePortRange: "30000-30009",
    }));
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    await etcd.stop();
  });

  it("gives each Service its own ClusterIP, concurrently, until the range is full, and frees it on delete", async () => {
    const made = await Promise.all(Array.from({ length: 14 }, (_, i) => client.create(svc(`s${i}`, {}))));
    const ips = made.map((s) => s.spec!.clusterIp);
    expect(new Set(ips).size).toBe(14);
    for (const ip of ips) expect(ip).toMatch(/^10\.100\.0\.(\d+)$/);
    expect(made[0]!.spec!.clusterIps).toEqual([made[0]!.spec!.clusterIp]);
    expect(made[0]!.spec!.ports[0]!.protocol).toBe("TCP");
    expect(made[0]!.spec!.ports[0]!.targetPort?.kind).toEqual({ case: "numberValue", value: 80 });
    await expect(client.create(svc("full", {}))).rejects.toThrow(
      'Service "full" is invalid: spec.clusterIPs: Invalid value: "": failed to allocate a serviceIP: range is full',
    );
    await client.delete("services", "default", "s3");
    const again = await client.create(svc("again", {}));
    expect(again.spec!.clusterIp).toBe(made[3]!.spec!.clusterIp);
    for (let i = 0; i < 14; i++) if (i !== 3) await client.delete("services", "default", `s${i}`);
    await client.delete("services", "default", "again");
  });

  it("checks a requested ClusterIP: taken, out of range; keeps it across updates and refuses to change it", async () => {
    const a = await client.create(svc("a", { clusterIP: "10.100.0.5" }));
    expect(a.spec!.clusterIp).toBe("10.100.0.5");
    await expect(client.create(svc("b", { clusterIP: "10.100.0.5" }))).rejects.toThrow(
      'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.100.0.5"}: failed to allocate IP 10.100.0.5: provided IP is already allocated',
    );
    await expect(client.create(svc("c", { clusterIP: "10.200.0.1" }))).rejects.toThrow(
      "failed to allocate IP 10.200.0.1: the provided IP (10.200.0.1) is not in the valid range. The range of valid IPs is 10.100.0.0/28",
    );
    const updated = await client.update(svc("a", { ports: [{ port: 8080 }] }));
    expect(updated.spec!.clusterIp).toBe("10.100.0.5");
    await expect(client.update(svc("a", { clusterIP: "10.100.0.6" }))).rejects.toThrow(
      'spec.clusterIPs[0]: Invalid value: "10.100.0.6": may not change once set',
    );
    const headless = await client.create(svc("h", { clusterIP: "None" }));
    expect(headless.spec!.clusterIp).toBe("None");
    await client.delete("services", "default", "a");
    await client.delete("services", "default", "h");
  });

  it("gives NodePort Services ports from the node-port range, checks requested ones, and frees them", async () => {
    // A port to allocate before a requested one, in a range of ten: the allocator must never hand
    // out the requested port first (it once did, one time in ten).
    for (let i = 0; i < 20; i++) {
      const s = await client.create(
        svc("again", {
          type: "NodePort",
          ports: [
            { name: "a", port: 80 },
            { name: "b", port: 81, nodePort: 30005 },
          ],
        }),
      );
      expect(s.spec!.ports[0]!.nodePort).not.toBe(30005);
      await client.delete("services", "default", "again");
    }
    await expect(
      client.create(
        svc("dup", {
          type: "NodePort",
          ports: [
            { name: "a", port: 80, nodePort: 30002 },
            { name: "b", port: 81, nodePort: 30002 },
          ],
        }),
      ),
    ).rejects.toThrow("spec.ports[1].nodePort: Duplicate value: 30002");
    const n1 = await client.create(
      svc("n1", {
        type: "NodePort",
        ports: [
          { name: "http", port: 80 },
          { name: "https", port: 443, nodePort: 30005 },
        ],
      }),
    );
    const [p1, p2] = n1.spec!.ports;
    expect(p1!.nodePort).toBeGreaterThanOrEqual(30000);
    expect(p1!.nodePort).toBeLessThanOrEqual(30009);
    expect(p2!.nodePort).toBe(30005);
    await expect(client.create(svc("n2", { type: "NodePort", ports: [{ port: 80, nodePort: 30005 }] }))).rejects.toThrow(
      'Service "n2" is invalid: spec.ports[0].nodePort: Invalid value: 30005: provided port is already allocated',
    );
    await expect(client.create(svc("n3", { type: "NodePort", ports: [{ port: 80, nodePort: 31000 }] }))).rejects.toThrow(
      "spec.ports[0].nodePort: Invalid value: 31000: provided port is not in the valid range. The range of valid ports is 30000-30009",
    );
    await expect(client.create(svc("n4", { ports: [{ port: 80, nodePort: 30001 }] }))).rejects.toThrow(
      "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    );
    await client.delete("services", "default", "n1");
    const n5 = await client.create(svc("n5", { type: "NodePort", ports: [{ port: 80, nodePort: 30005 }] }));
    expect(n5.spec!.ports[0]!.nodePort).toBe(30005);
    const table = await client.list<Service>("services", { namespace: "default" });
    expect(table.items.map((s) => s.metadata!.name)).toContain("n5");
  });
});
